"""Where a text chunk sits in its file: the text around it, read again from the file.

Sets encoded from text files record, per chunk, the file (`source`, relative to the folder
that held the inputs, or a full path), and the chunk's character span (`char_start`,
`char_end`) in the decoded text. The file is read in a job (never on the UI thread), at
most MAX_BYTES of it, decoded the way the encoder decoded it (so the offsets mean the same
characters), and the chunk is checked against the text the set holds: a file that is gone,
too large, no longer text or changed since is said in words, never raised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.inputs.items import SkipFile
from explorer.core.inputs.text_files import decode
from explorer.core.jobs import TaskState

COLUMNS = ("source", "char_start", "char_end")
CONTEXT_CHARS = 1200  # shown before and after the chunk
MAX_BYTES = 16 * 1024 * 1024  # a larger file is not read just to show a chunk's context


@dataclass(frozen=True)
class ChunkPlace:
    """What the set says of a chunk: its file as recorded, candidates for where it is now,
    its span, and its text as encoded (None when the set keeps no text column)."""

    source: str
    paths: tuple[str, ...]
    start: int
    end: int
    text: str | None


@dataclass(frozen=True)
class ChunkContext:
    """The chunk in its file (`before`, `chunk`, `after`), or why it cannot be shown."""

    source: str
    path: str = ""
    before: str = ""
    chunk: str = ""
    after: str = ""
    problem: str = ""  # the context cannot be shown: why
    note: str = ""  # it is shown, but something is off (the file changed since)
    cut_before: bool = False  # the file goes on before `before`
    cut_after: bool = False  # and after `after`


def chunk_place(es: EmbeddingSet, row: int) -> ChunkPlace | None:
    """The chunk `row` is, if the set records chunks of files (None otherwise)."""
    names = es.metadata.column_names
    if not all(c in names for c in COLUMNS) or not 0 <= row < es.count:
        return None
    source, start, end = (es.metadata.column(c)[row].as_py() for c in COLUMNS)
    if not isinstance(source, str) or not source or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (start, end)) \
            or end < start:
        return None
    text = None
    if es.text_column and es.text_column in names:
        value = es.metadata.column(es.text_column)[row].as_py()
        text = value if isinstance(value, str) else None
    return ChunkPlace(source, candidate_paths(es, source), start, end, text)


def candidate_paths(es: EmbeddingSet, source: str) -> tuple[str, ...]:
    """Where the file may be: the source itself when it is a full path, else under the
    folder that held the inputs the set was encoded from (as the encoder names sources)."""
    if os.path.isabs(source):
        return (source,)
    given = [Path(p) for p in es.source if p]
    if not given:
        return ()
    try:
        root = Path(os.path.commonpath([p.parent for p in given]))
    except ValueError:  # paths on different drives
        return ()
    paths = [root / source] + [p / source for p in given if p.suffix == ""]
    return tuple(dict.fromkeys(str(p) for p in paths))


def read_context(place: ChunkPlace, state: TaskState | None = None) -> ChunkContext:
    """The chunk's context from its file (a job's work: it reads the disk)."""
    name = Path(place.source).name
    path = next((p for p in place.paths if os.path.isfile(p)), None)
    if path is None:
        where = f" (looked in {Path(place.paths[0]).parent})" if place.paths else ""
        return ChunkContext(place.source, problem=f"{name} is no longer there{where}")
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            return ChunkContext(place.source, path, problem=f"{name} is {size / 2**20:,.0f} MB: "
                                "too large to read just to show the chunk")
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
        text = decode(data)
    except OSError as exc:
        return ChunkContext(place.source, path,
                            problem=f"{name} cannot be read ({exc.strerror or exc})")
    except SkipFile as exc:
        return ChunkContext(place.source, path, problem=f"{name} is no longer text: {exc.reason}")
    if place.end > len(text):
        return ChunkContext(place.source, path, problem=f"{name} has changed since it was "
                            f"encoded: it is shorter than the chunk's end ({place.end:,})")
    chunk = text[place.start:place.end]
    note = ""
    if place.text is not None and chunk.strip() != place.text.strip():
        note = (f"{name} has changed since it was encoded: the marked span may no longer be "
                "the chunk")
    first, last = max(0, place.start - CONTEXT_CHARS), place.end + CONTEXT_CHARS
    return ChunkContext(place.source, path, text[first:place.start], chunk,
                        text[place.end:last], note=note, cut_before=first > 0,
                        cut_after=last < len(text))
