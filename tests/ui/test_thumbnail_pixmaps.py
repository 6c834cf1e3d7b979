"""The UI's thumbnail decoding: only what the store writes (JPEG) is decoded; anything else in
a cache file (damaged, or not ours) is no picture, never a crash."""

import io

from PIL import Image

from explorer.ui.thumbnails import decode_rgba


def encoded(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (12, 8), (200, 10, 10)).save(out, fmt)
    return out.getvalue()


def test_a_jpeg_thumbnail_decodes_and_nothing_else_does():
    pixels = decode_rgba(encoded("JPEG"))
    assert pixels.shape == (8, 12, 4) and pixels[4, 6, 0] > 150
    assert decode_rgba(encoded("PNG")) is None  # the store never writes one
    assert decode_rgba(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n") is None
    assert decode_rgba(encoded("JPEG")[:40]) is None  # cut short
