"""Which image source a set uses: the one remembered with it, else the only one detected.

The choice is a field of the set's manifest (`image_source`), so it travels with the set and
every view and the CLI agree on it. A root is stored relative to the folder of the set's data
file when there is one, so a data set moved with its images keeps working once re-imported.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

from explorer.compute.thumbnails.columns import find_image_columns
from explorer.compute.thumbnails.source import KINDS, ImageSource, data_folder, source_folder
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import Library, read_manifest


def image_source(emb_set: EmbeddingSet) -> ImageSource | None:
    """The remembered source; else the detected column when exactly one can be shown offline."""
    remembered = _remembered(emb_set)
    if remembered is not None:
        return remembered
    usable = [c for c in find_image_columns(emb_set) if c.kind != "url"]
    return ImageSource(usable[0].name, usable[0].kind) if len(usable) == 1 else None


def pick_source(emb_set: EmbeddingSet, column: str | None = None,
                root: str | None = None) -> ImageSource:
    """The source a user asks for: `column` (its kind from its type), else the set's own;
    InputError in the user's words (with the choices) when there is none or several."""
    found = find_image_columns(emb_set)
    if column is not None:
        if column not in emb_set.columns:
            raise InputError(f"the set has no column {column!r}",
                             hint="its columns: " + ", ".join(emb_set.columns),
                             choices=tuple(emb_set.columns), option="column")
        kind = next((c.kind for c in found if c.name == column), None)
        if kind == "url":
            raise InputError(f"column {column!r} holds only URLs, and images are never fetched",
                             hint="name a column of file paths or image bytes")
        remembered = _remembered(emb_set)
        if root is None and remembered is not None and remembered.column == column:
            root = remembered.root  # naming the column again keeps the root picked for it
        return ImageSource(column, kind or _kind_of(emb_set, column), root)
    chosen = image_source(emb_set)
    if chosen is not None:
        return chosen if root is None else ImageSource(chosen.column, chosen.kind, root)
    usable = [c.name for c in found if c.kind != "url"]
    if len(usable) > 1:
        raise InputError("several columns hold images: " + ", ".join(usable),
                         hint="pick one with --column", choices=tuple(usable), option="column")
    if found:
        raise InputError(f"column {found[0].name!r} holds only URLs ({found[0].urls:,}), and "
                         "images are never fetched", hint="name a column of file paths or "
                         "image bytes with --column")
    raise InputError("no column of image paths or image bytes found",
                     hint="its columns: " + ", ".join(emb_set.columns) + "; name one with "
                     "--column", choices=tuple(emb_set.columns), option="column")


def _kind_of(emb_set: EmbeddingSet, column: str) -> str:
    """What a column the detection did not take for images would be read as."""
    kind = emb_set.metadata.schema.field(column).type
    if pa.types.is_struct(kind):
        return "struct"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "bytes"
    return "path"


def remember_image_source(library: Library, set_id: str, source: ImageSource | None) -> None:
    """Store `source` with the set (None: forget it); the root relative to its data file."""
    if source is None:
        library.set_image_source(set_id, None)
        return
    if source.kind not in KINDS:
        raise InputError(f"unknown image column kind {source.kind!r} "
                         f"(expected one of {', '.join(KINDS)})")
    entry = library.entry(set_id)
    if source.column not in entry.columns:
        raise InputError(f"the set has no column {source.column!r}",
                         hint="its columns: " + ", ".join(entry.columns))
    root = source.root
    folder = source_folder(entry.source)
    if root is not None and folder is not None:
        absolute = os.path.abspath(os.path.join(folder, os.path.expanduser(root)))
        try:
            root = os.path.relpath(absolute, folder)
        except ValueError:  # another drive (Windows): only the absolute path can say where
            root = absolute
    library.set_image_source(set_id, {"column": source.column, "kind": source.kind,
                                      "root": root})


def _remembered(emb_set: EmbeddingSet) -> ImageSource | None:
    """The manifest's source, if it still names a column of the set (never half-believed)."""
    if emb_set.path is None:
        return None
    try:
        stored = read_manifest(Path(emb_set.path)).image_source
    except ValueError:
        return None
    if not isinstance(stored, dict):
        return None
    column, kind, root = stored.get("column"), stored.get("kind"), stored.get("root")
    if (not isinstance(column, str) or column not in emb_set.columns or kind not in KINDS
            or not isinstance(root, (str, type(None)))):
        return None
    if root is not None and not os.path.isabs(root):
        folder = data_folder(emb_set)
        # lexical, as remember_image_source made it relative: "data/../images" reads "images"
        root = os.path.normpath(Path(folder, root)) if folder is not None else None
    return ImageSource(column, kind, root)
