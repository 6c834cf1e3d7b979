"""Image files for image models: only the header is read here; the encoder decodes."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from explorer.core.inputs.items import Item, SkipFile

SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")


def read_item(path: Path, source: str) -> Item:
    """Item(image=path) if Pillow recognises the file; decoding every pixel waits for the model."""
    try:
        with Image.open(path):  # parses the header; no pixels are read
            pass
    except UnidentifiedImageError:
        raise SkipFile("not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise SkipFile(f"image too large to decode safely ({exc})") from None
    return Item(text=None, image=path, meta={"source": source, "path": str(path)})
