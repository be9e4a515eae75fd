// Package media turns images and videos into the patch matrices the GLM-4.xV
// vision tower consumes, exactly as the Hugging Face reference processors do.
//
// The path of one image:
//
//	DecodeImage / LoadImage     bytes → *Image (8-bit RGB, JPEG exactly as Pillow
//	                            decodes it (media/jpeg), EXIF orientation applied,
//	                            alpha dropped as transformers 5.2 does, or composited
//	                            on white on request)
//	Processor.ProcessImage      smart_resize → antialiased bicubic resize of the uint8
//	                            pixels (torchvision's integer kernel by default, Pillow's
//	                            as an option) → rescale + normalise in float32 →
//	                            temporal duplication → patch rows (merge groups
//	                            contiguous) and grid_thw
//
// and of one video:
//
//	ProbeVideo / SampleFrames   frame indices at the target fps (the reference sampler)
//	DecodeVideoFrames           the chosen frames through the ffmpeg command-line tool
//	Processor.ProcessVideo      one smart_resize for the whole clip, per-frame resize,
//	                            temporal pairing of frames inside each patch row
//
// Nothing here keeps global state; a Processor is immutable once built and
// safe for concurrent use.
package media
