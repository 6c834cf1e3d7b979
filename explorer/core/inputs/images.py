"""Image files for image models: only the header is read here; the encoder decodes.

An image is untrusted: only the formats its suffix can name are opened (a `.jpg` holding
PostScript would otherwise open as EPS, and decoding it runs Ghostscript), and one with more
pixels than Pillow's limit is skipped here (Pillow only warns below twice the limit).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from explorer.core.inputs.items import Item, SkipFile

SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")  # what SUFFIXES name


def over_pixel_limit(width: int, height: int) -> bool:
    """More pixels than Pillow's limit (Pillow only warns below twice the limit, and decodes)."""
    limit = Image.MAX_IMAGE_PIXELS
    return limit is not None and width * height > limit


def read_item(path: Path, source: str) -> Item:
    """Item(image=path) if Pillow recognises the file; decoding every pixel waits for the model."""
    try:
        with Image.open(path, formats=FORMATS) as image:  # parses the header; no pixels read
            width, height = image.size
    except UnidentifiedImageError:
        raise SkipFile("not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise SkipFile(f"image too large to decode safely ({exc})") from None
    if over_pixel_limit(width, height):
        raise SkipFile(f"image too large to decode safely ({width} x {height} pixels, over "
                       f"the limit of {Image.MAX_IMAGE_PIXELS:,})")
    return Item(text=None, image=path, meta={"source": source, "path": str(path)})
