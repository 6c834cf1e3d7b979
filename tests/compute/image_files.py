"""Real image files made with Pillow for the thumbnail tests and benchmark: good ones of many
shapes, modes and formats, and hostile ones (truncated, garbage, bombs, odd modes)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

FORMATS = ("PNG", "JPEG", "WEBP")
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif", "TIFF": ".tif"}


def picture(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A smooth colour gradient with a block of another colour: cheap, and not constant."""
    base = rng.integers(0, 256, size=3)
    ramp = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    down = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    pixels = base * (0.4 + 0.6 * ramp) * (0.5 + 0.5 * down)
    x0, y0 = rng.integers(0, max(1, width // 2)), rng.integers(0, max(1, height // 2))
    pixels[y0:y0 + height // 3, x0:x0 + width // 3] = rng.integers(0, 256, size=3)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def drawn_picture(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A background and a few filled shapes, drawn in C: for the benchmark's thousands."""
    im = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(im)
    for _ in range(4):
        x0, x1 = sorted(int(v) for v in rng.integers(0, width, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height, 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return im


def encoded(im: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def good_image(rng: np.random.Generator, fmt: str | None = None,
               sizes: tuple[int, int] = (40, 700)) -> tuple[bytes, str]:
    """(bytes, format) of a picture of a random shape (wide, tall, square) in a random format."""
    fmt = fmt or FORMATS[int(rng.integers(len(FORMATS)))]
    width, height = (int(v) for v in rng.integers(*sizes, size=2))
    return encoded(picture(rng, width, height), fmt, **({"quality": 80} if fmt != "PNG"
                                                        else {})), fmt


def png_declaring(width: int, height: int) -> bytes:
    """A small valid PNG whose header then claims `width` x `height` (the CRC fixed up): a bomb's
    signature, without the memory a real one would take to make."""
    data = bytearray(encoded(Image.new("L", (8, 8), 7), "PNG"))
    ihdr = 8 + 8  # signature, then length + type of the IHDR chunk
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:ihdr + 13]))
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def real_bomb(side: int = 10_000) -> bytes:
    """A real grey PNG of side x side pixels (100M at the default: over Pillow's limit) that
    compresses to about 100 KB: what a decompression bomb is."""
    raw = zlib.compress(b"".join(b"\x00" + bytes(side) for _ in range(side)), 9)
    head = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def hostile_images(rng: np.random.Generator) -> dict[str, bytes]:
    """Files that must each end as a "broken" row, never a crash or a stall."""
    jpeg = good_image(rng, "JPEG", (300, 400))[0]
    png = good_image(rng, "PNG", (300, 400))[0]
    bad_crc = bytearray(png)
    bad_crc[29] ^= 0xFF  # inside IHDR's CRC
    return {
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) // 2],
        "garbage.jpg": bytes(rng.integers(0, 256, 5000, dtype=np.uint8)),
        "empty.png": b"",
        "header-only.jpg": jpeg[:20],
        "bad-crc.png": bytes(bad_crc),
        "bomb-declared.png": png_declaring(100_000, 100_000),
        "bomb-warning.png": png_declaring(10_000, 10_000),
        "zero-size.png": png_declaring(0, 10),
        "postscript.jpg": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        "text.png": b"not an image at all\n" * 20,
        "cut-header.tif": encoded(picture(rng, 90, 60), "TIFF")[:100],  # Pillow warns, then fails
    }


def odd_images(rng: np.random.Generator) -> dict[str, tuple[bytes, tuple[int, int]]]:
    """Good images of the awkward kinds, with the size their 128-pixel thumbnail must have."""
    rgb = picture(rng, 300, 150)
    frames = [picture(rng, 200, 100) for _ in range(3)]
    deep = Image.fromarray((np.arange(200 * 100).reshape(100, 200) * 3).astype(np.uint16))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: shown rotated by 90 degrees
    return {
        "cmyk.jpg": (encoded(rgb.convert("CMYK"), "JPEG"), (128, 64)),
        "palette.png": (encoded(rgb.convert("P"), "PNG", transparency=0), (128, 64)),
        "grey-alpha.png": (encoded(rgb.convert("LA"), "PNG"), (128, 64)),
        "rgba.webp": (encoded(rgb.convert("RGBA"), "WEBP"), (128, 64)),
        "deep-16-bit.png": (encoded(deep, "PNG"), (128, 64)),
        "float.tif": (encoded(Image.fromarray(np.asarray(deep, np.float32)), "TIFF"), (128, 64)),
        "one-bit.png": (encoded(rgb.convert("1"), "PNG"), (128, 64)),
        "animated.gif": (encoded(frames[0], "GIF", save_all=True,
                                 append_images=frames[1:], duration=50, loop=0), (128, 64)),
        "animated.webp": (encoded(frames[0], "WEBP", save_all=True,
                                  append_images=frames[1:], duration=50), (128, 64)),
        "turned.jpg": (encoded(rgb, "JPEG", exif=exif.tobytes()), (64, 128)),
        "tiny.png": (encoded(picture(rng, 3, 2), "PNG"), (3, 2)),
        "huge-photo.jpg": (encoded(picture(rng, 4000, 3000), "JPEG", quality=70), (128, 96)),
    }


def write_set(folder: Path, values: list, name: str = "images.parquet", column: str = "image",
              dim: int = 4, seed: int = 0) -> Path:
    """A Parquet data file beside the images: vectors plus `column` (paths, bytes or structs)."""
    n = len(values)
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    pq.write_table(pa.table({"item": [f"item {i}" for i in range(n)], column: values,
                             "vector": list(vectors)}), path)
    return path
