"""Which file an item came from, when the desktop may open it for the user.

Encoded sets record each item's file in a `path` (images) or `source` (texts, tables)
column. Metadata is untrusted: a hostile table could name a program, and asking the
desktop to open an executable runs it on some systems. So only an existing regular file
of a document or image type is offered; anything else is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from explorer.core.embedding_set import EmbeddingSet

SOURCE_COLUMNS = ("path", "source")  # what the encoders write, most specific first
OPENABLE_SUFFIXES = frozenset({
    ".txt", ".md", ".rst", ".csv", ".tsv", ".json", ".jsonl", ".log", ".pdf",
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff",
})


@dataclass(frozen=True)
class SourceFile:
    """The file item `row` came from (`path`), or why it cannot be opened (`problem`)."""

    path: Path | None
    problem: str = ""


def source_file(es: EmbeddingSet, row: int) -> SourceFile:
    """The item's own file if the desktop may open it; else the reason in words."""
    column = next((c for c in SOURCE_COLUMNS if c in es.metadata.column_names), None)
    if column is None:
        return SourceFile(None, "this set does not record the items' files")
    value = es.metadata.column(column)[row].as_py()
    if not isinstance(value, str) or not value.strip():
        return SourceFile(None, f"item #{row} has no {column}")
    path = Path(value)
    if not path.is_absolute():
        return SourceFile(None, f"{column} of item #{row} is not a full path: {value[:80]}")
    try:
        real = path.resolve()  # a link named notes.txt may point at a program
        regular = real.is_file()
    except (OSError, RuntimeError):
        real, regular = path, False
    if not {path.suffix.lower(), real.suffix.lower()} <= OPENABLE_SUFFIXES:
        return SourceFile(None, f"{path.name[:80]} is not a document or image this app opens")
    if not regular:
        return SourceFile(None, f"{path.name[:80]} is no longer there")
    return SourceFile(real)
