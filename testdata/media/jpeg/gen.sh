#!/bin/sh
# Regenerates the JPEG goldens in this folder: JPEG files of every kind made
# with libjpeg-turbo's cjpeg, ImageMagick and the TurboJPEG library, and the
# RGB Pillow decodes from each (Image.open(f).convert("RGB"), stored as PNG),
# plus, for files with an EXIF orientation, the upright RGB that
# transformers' load_image sees (ImageOps.exif_transpose first).
#
# Needs Debian's packages (run once):
#   apt-get install -y python3-pil libjpeg-turbo-progs imagemagick libturbojpeg0
set -eu
cd "$(dirname "$0")"
rm -f ./*.jpg ./*.png
/usr/bin/python3 gen.py
