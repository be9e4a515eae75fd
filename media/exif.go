package media

import (
	"bytes"
	"encoding/binary"
)

// exifOrientation returns the EXIF orientation (1–8) stored in an encoded
// image, or 0 when there is none or it cannot be read. Malformed metadata is
// ignored, never an error: the reference then shows the image unrotated.
func exifOrientation(format string, data []byte) int {
	var tiff []byte
	switch format {
	case "jpeg":
		tiff = jpegExif(data)
	case "png":
		tiff = pngExif(data)
	case "webp":
		tiff = webpExif(data)
	case "tiff":
		tiff = data
	}
	if tiff == nil {
		return 0
	}
	return tiffOrientation(tiff)
}

var exifHeader = []byte("Exif\x00\x00")

// jpegExif returns the TIFF block of the first APP1 "Exif" segment.
func jpegExif(d []byte) []byte {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return nil
	}
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xFF {
			i++ // junk between segments: skipped by libjpeg and Pillow
			continue
		}
		marker := d[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 {
			i += 2
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan / end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(d[i+2 : i+4]))
		if n < 2 || i+2+n > len(d) {
			return nil
		}
		seg := d[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, exifHeader) {
			return seg[len(exifHeader):]
		}
		i += 2 + n
	}
	return nil
}

// pngExif returns the body of the eXIf chunk.
func pngExif(d []byte) []byte {
	const sigLen = 8
	i := sigLen
	for i+8 <= len(d) {
		n := int(binary.BigEndian.Uint32(d[i : i+4]))
		typ := string(d[i+4 : i+8])
		if n < 0 || n > len(d)-i-8 {
			return nil
		}
		body := d[i+8 : i+8+n]
		switch typ {
		case "eXIf":
			return bytes.TrimPrefix(body, exifHeader)
		case "IEND":
			return nil
		}
		i += 12 + n // length, type, body, CRC
	}
	return nil
}

// webpExif returns the body of the RIFF "EXIF" chunk.
func webpExif(d []byte) []byte {
	if len(d) < 12 || string(d[0:4]) != "RIFF" || string(d[8:12]) != "WEBP" {
		return nil
	}
	i := 12
	for i+8 <= len(d) {
		typ := string(d[i : i+4])
		n := int(binary.LittleEndian.Uint32(d[i+4 : i+8]))
		if n < 0 || n > len(d)-i-8 {
			return nil
		}
		if typ == "EXIF" {
			return bytes.TrimPrefix(d[i+8:i+8+n], exifHeader)
		}
		i += 8 + n + n&1
	}
	return nil
}

// tiffOrientation reads tag 0x0112 of IFD0 in a TIFF-structured block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int64(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > int64(len(t)) {
		return 0
	}
	n := int64(bo.Uint16(t[off : off+2]))
	for k := range n {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:e+2]) != 0x0112 {
			continue
		}
		var v int
		switch bo.Uint16(t[e+2 : e+4]) {
		case 3: // SHORT
			v = int(bo.Uint16(t[e+8 : e+10]))
		case 4: // LONG
			v = int(bo.Uint32(t[e+8 : e+12]))
		default:
			return 0
		}
		if v < 1 || v > 8 {
			return 0
		}
		return v
	}
	return 0
}

// orient returns img transformed so that it displays upright, for EXIF
// orientation o, with the same operations as Pillow's ImageOps.exif_transpose
// (2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise,
// 7 transverse, 8 rotate 90° counter-clockwise).
func orient(img *Image, o int) *Image {
	w, h := img.Width, img.Height
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := &Image{Width: ow, Height: oh, Pix: make([]uint8, len(img.Pix))}
	for y := range oh {
		for x := range ow {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			default:
				sx, sy = x, y
			}
			copy(out.Pix[(y*ow+x)*3:(y*ow+x)*3+3], img.Pix[(sy*w+sx)*3:])
		}
	}
	return out
}
