"""Images of a set's items: which column holds them, and a cache of small thumbnails.

Items may be image files named by a path column (relative to the set's data file, or to a root
folder the user picks), image bytes in a binary column, or `{bytes, path}` structs (the Hugging
Face datasets layout), read from the set's own Parquet without extracting files. URLs are
counted and never fetched. `make_thumbnails` is a job (progress, Cancel, resumable) that
writes one memory-mapped cache file into the set's artefacts; `open_thumbnails` gives it back
while its sources are unchanged. Every image is untrusted: see decode.py and source.py.

Use the package, not its modules: `from explorer.compute import thumbnails as th`. The
modules: `columns` (detection), `source` (ImageSource, paths and the root), `choice` (the
source remembered with the set), `decode` (one image to a JPEG thumbnail), `store` (the cache
file), `build` (the job), `original` (one item's image, large, for the item panel).
"""

from explorer.compute.thumbnails.build import (
    ThumbnailReport,
    make_thumbnails,
    open_cache,
)
from explorer.compute.thumbnails.choice import (
    image_source,
    pick_source,
    remember_image_source,
)
from explorer.compute.thumbnails.columns import ImageColumn, find_image_columns
from explorer.compute.thumbnails.decode import (
    MAX_SOURCE_BYTES,
    BadImage,
    thumbnail_jpeg,
)
from explorer.compute.thumbnails.original import MAX_SIDE, read_image
from explorer.compute.thumbnails.source import KINDS, ImageSource, Unreadable, data_folder
from explorer.compute.thumbnails.store import ThumbnailStore
from explorer.core.embedding_set import EmbeddingSet

DEFAULT_SIZE = 128


def open_thumbnails(emb_set: EmbeddingSet, source: ImageSource | None = None,
                    size: int = DEFAULT_SIZE) -> ThumbnailStore | None:
    """The set's thumbnail cache (of `source`, else the set's image source); None when there is
    none yet, or its sources changed since it was made (make_thumbnails brings it up to date)."""
    source = source or image_source(emb_set)
    return None if source is None else open_cache(emb_set, source, size=size)


__all__ = [
    "DEFAULT_SIZE",
    "KINDS",
    "MAX_SIDE",
    "MAX_SOURCE_BYTES",
    "BadImage",
    "ImageColumn",
    "ImageSource",
    "ThumbnailReport",
    "ThumbnailStore",
    "Unreadable",
    "data_folder",
    "find_image_columns",
    "image_source",
    "make_thumbnails",
    "open_thumbnails",
    "pick_source",
    "read_image",
    "remember_image_source",
    "thumbnail_jpeg",
]
