"""One item's image at a size worth looking at (the item panel), read again from its source.

A thumbnail is 128 px: scaled up it is a blur. The original is read by the same rules as the
thumbnail job (source.py: inside the root, regular files only, at most MAX_SOURCE_BYTES;
decode.py: the formats read here, Pillow's pixel limit, JPEG draft decoding, EXIF turns), then
fitted into `max_side` so a 50-megapixel photo never reaches the screen whole. It reads a file
and decodes it, so a UI calls it in a job.
"""

from __future__ import annotations

from explorer.compute.thumbnails.decode import BadImage, thumbnail_jpeg
from explorer.compute.thumbnails.source import (
    ImageSource,
    Unreadable,
    check_source,
    column_values,
    locate,
    read_file,
)
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError

MAX_SIDE = 1024
SIDES = (16, 4096)


def read_image(emb_set: EmbeddingSet, source: ImageSource, row: int,
               max_side: int = MAX_SIDE) -> bytes | Unreadable:
    """Row `row`'s image fitted into `max_side` x `max_side` pixels, as JPEG bytes (never
    enlarged), or why it cannot be shown. InputError when `source` does not fit the set."""
    if not 0 <= row < emb_set.count:
        raise IndexError(f"row {row} is not in 0..{emb_set.count - 1}")
    if not SIDES[0] <= max_side <= SIDES[1]:
        raise InputError(f"an image size of {max_side} pixels is not in {SIDES[0]}..{SIDES[1]}")
    root = check_source(emb_set, source)
    value = column_values(emb_set, source, row, row + 1)[0]
    if value is None:
        return Unreadable("missing", "no value")
    if isinstance(value, str):
        if root is None:
            return Unreadable("missing", "a path, and no image root to find it in")
        real = locate(value, root)
        if isinstance(real, Unreadable):
            return real
        found = read_file(real)
        if isinstance(found, Unreadable):
            return found
        value = found.data
    try:
        return thumbnail_jpeg(value, max_side)
    except BadImage as exc:
        return Unreadable("broken", str(exc))
