"""One image's bytes to a small JPEG, or `BadImage` saying why not: never a crash, never a stall.

Every image comes from a file the user opened, so every image is untrusted:
- only the formats below are tried (no EPS, which would run Ghostscript, nor the rarer
  plugins, whose parsers see little use);
- the source is at most `MAX_SOURCE_BYTES` (checked before it is read, see source.py);
- more pixels than Pillow's `Image.MAX_IMAGE_PIXELS` (Pillow warns above it and refuses twice
  it) is refused before anything is decoded: the warning is treated as the error, by our own
  check, since a warnings filter is process-wide and this runs on several threads at once;
- a JPEG is decoded at 1/2, 1/4 or 1/8 scale (`draft`), and `thumbnail` reduces by whole
  factors first (`reducing_gap`), so a 24-megapixel photo costs a few milliseconds;
- an animation gives its first frame, EXIF orientation is applied, and any mode (CMYK, P, LA,
  16-bit, float) becomes 8-bit grey or RGB, transparency over white.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from explorer.core.inputs.images import over_pixel_limit

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")  # a JPEG may open as "MPO"
MAX_SOURCE_BYTES = 64 << 20  # larger files are refused unread: no thumbnail source needs more
QUALITY = 85
BACKGROUND = (255, 255, 255)  # what transparent pixels become (JPEG has no alpha)
WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # more than 8 bits a channel
ORIENTATION = 0x0112
T = Image.Transpose
TURNS = {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE,
         6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}  # EXIF orientation -> the upright turn


class BadImage(Exception):
    """An image that cannot be made into a thumbnail; the message says why, in a few words."""


def thumbnail_jpeg(data: bytes, size: int) -> bytes:
    """The image in `data` fitted into `size` x `size` pixels, as JPEG bytes.

    Raises BadImage for anything that is not a readable image of the FORMATS within the
    pixel limit (truncated, corrupt, a bomb, a format we do not open).
    """
    if len(data) > MAX_SOURCE_BYTES:
        raise BadImage(f"larger than {MAX_SOURCE_BYTES >> 20} MiB")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as im:
            return _shrink(im, size)
    except BadImage:
        raise
    except Image.DecompressionBombError:
        raise BadImage("too many pixels (a decompression bomb?)") from None
    except Image.UnidentifiedImageError:
        raise BadImage("not an image in a format read here "
                       f"({', '.join(FORMATS)})") from None
    except MemoryError:
        raise BadImage("too large to decode in the memory available") from None
    except Exception as exc:  # noqa: BLE001 - a hostile file makes Pillow's parsers raise anything
        raise BadImage(_reason(exc)) from None


def _shrink(im: Image.Image, size: int) -> bytes:
    width, height = im.size
    if width < 1 or height < 1:
        raise BadImage(f"it declares {width} x {height} pixels")
    if over_pixel_limit(width, height):
        raise BadImage(f"{width} x {height} pixels is over the limit of "
                       f"{Image.MAX_IMAGE_PIXELS:,} "
                       "(a decompression bomb?)")
    orientation = _orientation(im)
    if im.format in ("JPEG", "MPO"):
        im.draft("RGB" if im.mode == "RGB" else None, (size, size))
    if im.mode in WIDE_MODES[:4]:
        im = im.convert("I")  # 16-bit modes cannot be resized; 32-bit integers can
    im.thumbnail((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    im = _eight_bit(im)
    if orientation in TURNS:
        im = im.transpose(TURNS[orientation])
    out = io.BytesIO()
    im.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1: as stored); a damaged EXIF block is ignored, not fatal.

    Parsed only when the file carries EXIF (a TIFF's tags are its EXIF): parsing costs a
    tenth of a small image's whole thumbnail.
    """
    if im.format != "TIFF" and "exif" not in im.info:
        return 1
    try:
        value = im.getexif().get(ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - EXIF is parsed from the untrusted file too
        return 1
    return value if isinstance(value, int) else 1


def _eight_bit(im: Image.Image) -> Image.Image:
    """Grey ("L") or "RGB": what a JPEG holds, whatever mode the source had."""
    if im.mode in WIDE_MODES:
        values = np.asarray(im, dtype=np.float64)
        finite = values[np.isfinite(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        scaled = (np.nan_to_num(values, nan=lo) - lo) * (255.0 / (hi - lo) if hi > lo else 0.0)
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if im.mode in ("L", "RGB"):
        return im
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGB")  # CMYK, YCbCr, LAB, HSV


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "truncated" in text.lower():
        return "the file is truncated"
    return f"cannot be decoded ({text[:120]})"
