"""Makes the JPEG test files and Pillow's decoded RGB for each; see gen.sh."""

import ctypes
import io
import json
import os
import struct
import subprocess
import tempfile

import PIL
from PIL import Image, ImageOps, features

TMP = tempfile.mkdtemp()


def magick(*args):
    """Runs ImageMagick's convert and returns its stdout."""
    return subprocess.run(["convert", *args], check=True, capture_output=True).stdout


def source(name, *args):
    """Renders an ImageMagick source picture to a PPM file and returns its path."""
    path = os.path.join(TMP, name + ".ppm")
    with open(path, "wb") as f:
        f.write(magick(*args, "-depth", "8", "ppm:-"))
    return path


SRC = {
    # A real photograph (ImageMagick's built-in rose, 70x46).
    "rose": source("rose", "rose:"),
    # Photo-like textures at 64x48.
    "plasma": source("plasma", "-seed", "7", "-size", "64x48", "plasma:red-blue"),
    "logo": source("logo", "logo:", "-resize", "64x48!"),
    "wizard": source("wizard", "wizard:", "-resize", "48x64!"),
    # Saturated, sharp-edged content that drives the IDCT to its clamps.
    "checker": source("checker", "-size", "17x13", "pattern:checkerboard",
                      "-fill", "red", "-draw", "rectangle 3,2 9,8",
                      "-fill", "#00ff40", "-draw", "circle 12,6 15,9"),
    "noise": source("noise", "-seed", "3", "-size", "33x21", "xc:gray", "+noise", "Random"),
    "tiny3x5": source("tiny3x5", "-seed", "5", "-size", "3x5", "xc:gray", "+noise", "Random"),
    "tiny4x4": source("tiny4x4", "-seed", "6", "-size", "4x4", "plasma:yellow-purple"),
    "line9x1": source("line9x1", "-seed", "8", "-size", "9x1", "xc:gray", "+noise", "Random"),
    "col1x9": source("col1x9", "-seed", "9", "-size", "1x9", "xc:gray", "+noise", "Random"),
    "one1x1": source("one1x1", "-size", "1x1", "xc:#c83a10"),
    # The demo's 200x150 landscape (used by the full-pipeline test).
    "landscape": source("landscape", os.path.join("..", "..", "..", "demo", "img_landscape.png")),
    "wide": source("wide", "-seed", "11", "-size", "130x7", "plasma:green-white"),
}

SCANS_SPECTRAL = os.path.join(TMP, "spectral.txt")
with open(SCANS_SPECTRAL, "w") as f:
    # Spectral selection only, bands split unevenly, DC interleaved.
    f.write("0,1,2: 0-0, 0, 0;\n0: 1-5, 0, 0;\n2: 1-63, 0, 0;\n1: 1-63, 0, 0;\n0: 6-63, 0, 0;\n")
SCANS_SUCC = os.path.join(TMP, "succ.txt")
with open(SCANS_SUCC, "w") as f:
    # Successive approximation down to bit 0 in several refinement scans,
    # DC in separate per-component scans.
    f.write("0: 0-0, 0, 2;\n1: 0-0, 0, 1;\n2: 0-0, 0, 1;\n"
            "0: 1-9, 0, 3;\n0: 10-63, 0, 3;\n1: 1-63, 0, 2;\n2: 1-63, 0, 2;\n"
            "0: 0-0, 2, 1;\n0: 1-63, 3, 2;\n0: 1-63, 2, 1;\n0: 1-63, 1, 0;\n"
            "1: 0-0, 1, 0;\n2: 0-0, 1, 0;\n0: 0-0, 1, 0;\n1: 1-63, 2, 1;\n1: 1-63, 1, 0;\n"
            "2: 1-63, 2, 1;\n2: 1-63, 1, 0;\n")
SCANS_SEQ = os.path.join(TMP, "seq.txt")
with open(SCANS_SEQ, "w") as f:
    # A sequential (non-progressive) file with one scan per component.
    f.write("0: 0-63, 0, 0;\n1: 0-63, 0, 0;\n2: 0-63, 0, 0;\n")


def cjpeg(name, src, *args):
    out = name + ".jpg"
    subprocess.run(["cjpeg", *args, "-outfile", out, SRC[src]], check=True)
    return out


CASES = []


def case(name, src, *args):
    CASES.append(cjpeg(name, src, *args))


# Subsampling x coding mode on the photo.
for samp, tag in [("1x1", "444"), ("2x1", "422"), ("2x2", "420"), ("1x2", "440"), ("4x1", "411")]:
    case(f"rose_{tag}_baseline", "rose", "-quality", "85", "-sample", samp)
    case(f"rose_{tag}_progressive", "rose", "-quality", "85", "-sample", samp, "-progressive")
for samp, tag in [("2x2", "420"), ("2x1", "422"), ("1x2", "440"), ("1x1", "444")]:
    case(f"plasma_{tag}_q95", "plasma", "-quality", "95", "-sample", samp)
case("logo_420_q50_opt", "logo", "-quality", "50", "-sample", "2x2", "-optimize")
case("wizard_422_q75_prog", "wizard", "-quality", "75", "-sample", "2x1", "-progressive")
case("wizard_440_q90", "wizard", "-quality", "90", "-sample", "1x2")
# Mixed factors: Cb 2x1 and Cr 1x2 under a 2x2 luma (h1v2 and h2v1 filters).
case("plasma_mixed_2x2_2x1_1x2", "plasma", "-sample", "2x2,2x1,1x2")
case("rose_mixed_2x2_1x2_2x1_prog", "rose", "-sample", "2x2,1x2,2x1", "-progressive")
# Box upsampling ratios: 3x1, 1x4 and 4x2.
case("rose_3x1", "rose", "-sample", "3x1")
case("plasma_1x4", "plasma", "-sample", "1x4")
case("plasma_4x2", "plasma", "-sample", "4x2")
# Extremes of quantisation.
case("checker_420_q100", "checker", "-quality", "100", "-sample", "2x2")
case("checker_444_q100", "checker", "-quality", "100", "-sample", "1x1")
case("checker_422_q10", "checker", "-quality", "10", "-sample", "2x1")
case("checker_440_q100_prog", "checker", "-quality", "100", "-sample", "1x2", "-progressive")
case("noise_420_q97", "noise", "-quality", "97", "-sample", "2x2")
case("noise_420_q97_prog", "noise", "-quality", "97", "-sample", "2x2", "-progressive")
# Restart intervals: every MCU, every 2 MCUs, every row; baseline and progressive.
case("rose_420_rst1b", "rose", "-sample", "2x2", "-restart", "1B")
case("rose_444_rst3b_prog", "rose", "-sample", "1x1", "-restart", "3B", "-progressive")
case("plasma_422_rst1row", "plasma", "-sample", "2x1", "-restart", "1")
case("noise_420_rst2b_prog", "noise", "-sample", "2x2", "-restart", "2B", "-progressive")
# Custom scan scripts.
case("rose_444_spectral", "rose", "-sample", "1x1", "-scans", SCANS_SPECTRAL)
case("rose_420_succapprox", "rose", "-sample", "2x2", "-scans", SCANS_SUCC)
case("plasma_420_sequential_multiscan", "plasma", "-sample", "2x2", "-scans", SCANS_SEQ)
# Grayscale.
case("rose_gray", "rose", "-grayscale", "-quality", "90")
case("rose_gray_prog", "rose", "-grayscale", "-progressive")
case("checker_gray_q100_rst", "checker", "-grayscale", "-quality", "100", "-restart", "1B")
# RGB-coded JPEG (Adobe transform 0).
case("rose_rgb", "rose", "-rgb", "-quality", "90")
case("plasma_rgb_prog", "plasma", "-rgb", "-progressive")
# Odd and tiny sizes (incl. 2-sample-wide chroma, where libjpeg box-filters).
for src in ["tiny3x5", "tiny4x4", "line9x1", "col1x9", "one1x1", "wide"]:
    case(f"{src}_420", src, "-sample", "2x2")
    case(f"{src}_422_prog", src, "-sample", "2x1", "-progressive")
    case(f"{src}_440", src, "-sample", "1x2")
case("checker_420_17x13_prog", "checker", "-sample", "2x2", "-progressive")
# Arithmetic coding (SOF9 sequential, SOF10 progressive), which libjpeg-turbo
# and so Pillow decode too.
case("rose_420_arith", "rose", "-arithmetic", "-sample", "2x2")
case("rose_422_arith_prog", "rose", "-arithmetic", "-sample", "2x1", "-progressive")
case("noise_444_arith_q100_rst", "noise", "-arithmetic", "-quality", "100", "-sample", "1x1", "-restart", "2B")
case("noise_420_arith_prog_rst", "noise", "-arithmetic", "-sample", "2x2", "-progressive", "-restart", "1B")
case("checker_gray_arith_prog", "checker", "-arithmetic", "-grayscale", "-progressive", "-quality", "100")
case("plasma_440_arith_succapprox", "plasma", "-arithmetic", "-sample", "2x2", "-scans", SCANS_SUCC)
case("landscape_420_q90", "landscape", "-quality", "90", "-sample", "2x2")
case("landscape_422_q80_prog", "landscape", "-quality", "80", "-sample", "2x1", "-progressive")

# CMYK: ImageMagick writes Adobe-marked CMYK (transform 0).
for src, q in [("rose", 90), ("checker", 100)]:
    out = f"{src}_cmyk_q{q}.jpg"
    with open(out, "wb") as f:
        f.write(magick(SRC[src], "-colorspace", "CMYK", "-quality", str(q), "jpg:-"))
    CASES.append(out)
out = "plasma_cmyk_prog.jpg"
with open(out, "wb") as f:
    f.write(magick(SRC["plasma"], "-colorspace", "CMYK", "-interlace", "JPEG", "-sampling-factor", "2x2,1x1,1x1,2x2", "jpg:-"))
CASES.append(out)


def strip_app14(data):
    """Removes Adobe APP14 segments (a CMYK file libjpeg then reads as plain CMYK)."""
    out, i = bytearray(data[:2]), 2
    while i < len(data):
        marker = data[i + 1]
        if marker == 0xDA:
            out += data[i:]
            break
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker != 0xEE:
            out += data[i:i + 2 + n]
        i += 2 + n
    return bytes(out)


with open("rose_cmyk_q90.jpg", "rb") as f:
    noadobe = strip_app14(f.read())
with open("rose_cmyk_noadobe.jpg", "wb") as f:
    f.write(noadobe)
CASES.append("rose_cmyk_noadobe.jpg")



def segments(data):
    """Splits a JPEG into its header segments (marker + payload) and the rest."""
    segs, i = [], 2
    while data[i + 1] != 0xDA:
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        segs.append(data[i:i + 2 + n])
        i += 2 + n
    return segs, data[i:]


# libjpeg's colour-space guess without JFIF/Adobe markers: component ids
# 'R','G','B' mean RGB (the YCbCr-coded samples then pass through as RGB),
# ids 1,2,3 mean YCbCr. Also junk bytes and fill bytes between segments,
# which libjpeg skips.
with open("rose_444_baseline.jpg", "rb") as f:
    segs, rest = segments(f.read())
nojfif = [s for s in segs if s[1] != 0xE0]
sof = next(i for i, s in enumerate(nojfif) if s[1] == 0xC0)
rgbids = bytearray(nojfif[sof])
for k in range(3):
    rgbids[10 + 3 * k] = b"RGB"[k]
nojfif[sof] = bytes(rgbids)
rgbids_scan = bytearray(rest)
for k in range(3):
    rgbids_scan[5 + 2 * k] = b"RGB"[k]
with open("rose_444_ids_rgb_nomarker.jpg", "wb") as f:
    f.write(b"\xff\xd8" + b"".join(nojfif) + bytes(rgbids_scan))
CASES.append("rose_444_ids_rgb_nomarker.jpg")
with open("rose_444_nojfif.jpg", "wb") as f:
    f.write(b"\xff\xd8" + b"".join(s for s in segs if s[1] != 0xE0) + rest)
CASES.append("rose_444_nojfif.jpg")
with open("rose_420_progressive.jpg", "rb") as f:
    segs, rest = segments(f.read())
with open("rose_420_prog_junk.jpg", "wb") as f:
    f.write(b"\xff\xd8" + segs[0] + b"\x00\x17junk" + b"".join(b"\xff\xff" + s for s in segs[1:]) + rest)
CASES.append("rose_420_prog_junk.jpg")

# YCCK: TurboJPEG compresses CMYK pixels as YCCK (Adobe transform 2).
tj = ctypes.CDLL("libturbojpeg.so.0")
tj.tjInitCompress.restype = ctypes.c_void_p
tj.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                           ctypes.c_int, ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)),
                           ctypes.POINTER(ctypes.c_ulong), ctypes.c_int, ctypes.c_int, ctypes.c_int]
tj.tjFree.argtypes = [ctypes.c_void_p]
TJPF_CMYK, TJSAMP = 11, {"444": 0, "422": 1, "420": 2, "440": 5}
TJFLAG_PROGRESSIVE = 16384


def ycck(name, src, samp, quality, flags=0):
    im = Image.open(SRC[src]).convert("CMYK")
    w, h = im.size
    handle = tj.tjInitCompress()
    buf = ctypes.POINTER(ctypes.c_ubyte)()
    size = ctypes.c_ulong(0)
    if tj.tjCompress2(handle, im.tobytes(), w, 0, h, TJPF_CMYK, ctypes.byref(buf), ctypes.byref(size),
                      TJSAMP[samp], quality, flags) != 0:
        raise RuntimeError("tjCompress2 failed")
    data = ctypes.string_at(buf, size.value)
    tj.tjFree(buf)
    tj.tjDestroy(ctypes.c_void_p(handle))
    with open(name + ".jpg", "wb") as f:
        f.write(data)
    CASES.append(name + ".jpg")


ycck("rose_ycck_420", "rose", "420", 90)
ycck("checker_ycck_444_q100", "checker", "444", 100)
ycck("plasma_ycck_422_prog", "plasma", "422", 80, TJFLAG_PROGRESSIVE)


def exif_app1(orientation):
    """A minimal little-endian EXIF APP1 segment holding one Orientation tag."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


EXIF = []
for o in range(2, 9):
    base = {6: "landscape_422_q80_prog.jpg"}.get(o, "rose_420_baseline.jpg" if o % 2 == 0 else "checker_420_17x13_prog.jpg")
    with open(base, "rb") as f:
        data = f.read()
    name = f"exif_orientation{o}_{base[:-4]}.jpg"
    with open(name, "wb") as f:
        f.write(data[:2] + exif_app1(o) + data[2:])
    EXIF.append(name)

manifest = {
    "pillow": PIL.__version__,
    "libjpeg_api": features.version("jpg"),
    "libjpeg_turbo": subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libjpeg62-turbo"],
                                    capture_output=True, text=True).stdout,
    "files": {},
}
for name in CASES + EXIF:
    with Image.open(name) as im:
        info = {"mode": im.mode, "size": list(im.size), "progressive": bool(im.info.get("progressive"))}
        im.convert("RGB").save(name[:-4] + ".png", optimize=True)
    if name in EXIF:
        with Image.open(name) as im:
            ImageOps.exif_transpose(im).convert("RGB").save(name[:-4] + ".upright.png", optimize=True)
            info["upright"] = name[:-4] + ".upright.png"
    manifest["files"][name] = info
with open("manifest.json", "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
    f.write("\n")
print(len(manifest["files"]), "files")
