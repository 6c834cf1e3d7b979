"""Which metadata columns hold images, found from their Arrow types and a sample of values.

A binary column is one when its sampled values start with an image format's magic bytes; a
struct with a binary `bytes` and/or a text `path` field is the Hugging Face datasets layout;
a text column is one when most sampled values end in an image file extension (a URL's query
string aside). URLs are counted over the whole column: they are shown, never fetched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.compute.thumbnails.source import URL
from explorer.core.embedding_set import EmbeddingSet

SAMPLE = 64  # values looked at per column
SHARE = 0.5  # at least this share of the sampled values must look like images
EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00",
         b"MM\x00*")
RANK = {"struct": 0, "bytes": 1, "path": 2, "url": 3}  # best first: what can be shown offline
URL_PATTERN = URL.pattern.replace("(?:", "(?i)(?:", 1)  # the same test, for Arrow's RE2


@dataclass
class ImageColumn:
    """A column that holds images: how (`kind`), how many rows have one, how many are URLs."""

    name: str
    kind: str  # "path" | "bytes" | "struct" | "url" (paths that are all URLs)
    count: int  # rows with a value
    urls: int  # values that are URLs: not loadable offline
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def is_image_bytes(data: bytes) -> bool:
    return data.startswith(MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def find_image_columns(emb_set: EmbeddingSet) -> list[ImageColumn]:
    """The set's image columns, best first (struct, bytes, paths, URLs; then the fullest)."""
    found = []
    for name in emb_set.columns:
        column = emb_set.metadata.column(name)
        found.extend(c for c in [_detect(name, column)] if c is not None)
    return sorted(found, key=lambda c: (RANK[c.kind], -(c.count - c.urls)))


def _detect(name: str, column: pa.ChunkedArray) -> ImageColumn | None:
    kind = column.type
    if pa.types.is_struct(kind):
        return _struct(name, column)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return _binary(name, column, column)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _paths(name, column)
    return None


def _sample(column: pa.ChunkedArray) -> list:
    """Up to SAMPLE non-null values spread over the column (taken first: nothing is copied)."""
    n = len(column)
    rows = sorted(set(np.linspace(0, n - 1, num=min(n, 4 * SAMPLE), dtype=np.int64).tolist()))
    values = [v for v in column.take(pa.array(rows, pa.int64())).to_pylist() if v is not None]
    return values[::max(1, len(values) // SAMPLE)][:SAMPLE]


def _binary(name: str, column: pa.ChunkedArray, data: pa.ChunkedArray,
            kind: str = "bytes") -> ImageColumn | None:
    sample = [v for v in _sample(data) if v]
    if not sample or sum(map(is_image_bytes, sample)) < SHARE * len(sample):
        return None
    examples = [f"{_format(v)}, {len(v):,} bytes" for v in sample[:3]]
    return ImageColumn(name, kind, len(column) - column.null_count, 0, examples)


def _struct(name: str, column: pa.ChunkedArray) -> ImageColumn | None:
    kind = column.type
    fields = {kind.field(i).name: kind.field(i).type for i in range(kind.num_fields)}
    has_bytes = "bytes" in fields and (pa.types.is_binary(fields["bytes"])
                                       or pa.types.is_large_binary(fields["bytes"]))
    has_path = "path" in fields and (pa.types.is_string(fields["path"])
                                     or pa.types.is_large_string(fields["path"]))
    if not (has_bytes or has_path):
        return None
    if has_bytes:  # the fields of a chunked struct column are views of it: nothing is copied
        found = _binary(name, column, pc.struct_field(column, "bytes"), "struct")
        if found is not None:
            return found
    if has_path:
        paths = _paths(name, pc.struct_field(column, "path"))
        if paths is not None:
            paths.kind = "struct" if paths.kind == "path" else paths.kind
            return paths
    return None


def _paths(name: str, column: pa.ChunkedArray) -> ImageColumn | None:
    sample = [v for v in _sample(column) if v]
    looks = [v for v in sample if _stem(v).lower().endswith(EXTENSIONS)]
    if not sample or len(looks) < SHARE * len(sample):
        return None
    count = len(column) - column.null_count
    urls = int(pc.sum(pc.match_substring_regex(column, URL_PATTERN)).as_py() or 0)
    return ImageColumn(name, "url" if urls == count else "path", count, urls, looks[:3])


def _stem(value: str) -> str:
    """A path or URL without its query string or fragment."""
    return value.split("?", 1)[0].split("#", 1)[0] if URL.match(value) else value


def _format(data: bytes) -> str:
    for name, magic in (("JPEG", b"\xff\xd8\xff"), ("PNG", b"\x89PNG"), ("GIF", b"GIF8"),
                        ("BMP", b"BM"), ("TIFF", b"II*\x00"), ("TIFF", b"MM\x00*")):
        if data.startswith(magic):
            return name
    return "WebP"
