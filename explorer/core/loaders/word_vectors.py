"""word2vec / GloVe / fastText word vectors, text (.txt/.vec) and word2vec binary (.bin)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders.base import Loaded, LoadOptions, check_array_fits, is_text


def _count_header(first_line: str) -> tuple[int, int] | None:
    parts = first_line.removeprefix("\ufeff").split()  # files saved on Windows may start with a BOM
    if len(parts) == 2 and all(p.isascii() and p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def load_word_text(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    with open(path, "rb") as fh:
        first = fh.readline().decode("utf-8", errors="replace")
        header = _count_header(first)
        sample = fh.readline().decode("utf-8", errors="replace") if header else first
    dim = header[1] if header else len(sample.split()) - 1
    # word2vec's text writer ends each line with a space: one empty extra field.
    trailing = sample.rstrip("\r\n").endswith(" ")
    if dim < 1:
        raise InputError("the first line holds a word but no numbers", path=path, line=1)
    names = ["word"] + [f"d{i}" for i in range(dim)]

    skip = 1 if header else 0
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names + ["_trail"] * trailing,
                                           skip_rows=skip,
                                           block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=" ", quote_char=False, escape_char=False,
                                             ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={"word": pa.string(), **{n: pa.float32() for n in names[1:]}}),
        )
    except pa.ArrowInvalid as exc:
        raise _locate(path, dim, skip, exc) from None
    if trailing:
        if not _all_empty(table.column("_trail")):
            raise _locate(path, dim, skip, None)
        table = table.drop_columns(["_trail"])
    for name in names[1:]:
        if table.column(name).null_count:
            raise _locate(path, dim, skip, None)
    state.progress(0.8)
    vectors = np.column_stack([table.column(n).to_numpy() for n in names[1:]])
    if header and header[0] != len(vectors):
        cut = " (truncated file?)" if header[0] > len(vectors) else ""
        raise InputError(f"the header line says {header[0]} words but the file holds "
                         f"{len(vectors)}{cut}", path=path, line=1)
    return Loaded(vectors, table.select(["word"]), notes=[
        "word2vec text with a count header" if header else "GloVe-style text (no header)"])


def _all_empty(col: pa.ChunkedArray) -> bool:
    return all(v in (None, "") for v in col.drop_null().unique().to_pylist())


def _locate(path: Path, dim: int, skip: int, exc: Exception | None) -> InputError:
    """Find the first line with the wrong number of values or a non-number."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno <= skip or not line.strip():
                continue
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if len(parts) != dim + 1:
                return InputError(f"has {len(parts) - 1} numbers after the word, expected {dim} "
                                  "(ragged rows)", path=path, line=lineno,
                                  hint="separate values with spaces" if "\t" in line else None)
            for col, value in enumerate(parts[1:], start=2):
                try:
                    float(value)
                except ValueError:
                    return InputError(f"{value!r} is not a number", path=path, line=lineno,
                                      column=col)
    return InputError(f"cannot parse the file ({exc})", path=path)


def sniff_word_text(head: bytes, path: Path) -> bool:
    if not is_text(head):
        return False
    lines = head.decode("utf-8", errors="replace").splitlines()
    if not lines:
        return False
    body = lines[1:] if _count_header(lines[0]) else lines
    return bool(body) and len(body[0].split()) >= 2


def load_word2vec_bin(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    data = np.memmap(path, dtype=np.uint8, mode="r")
    raw = memoryview(data)
    end = bytes(raw[:256]).find(b"\n")
    header = _count_header(bytes(raw[:end]).decode("ascii", errors="replace")) if end > 0 else None
    if header is None:
        raise InputError("the first line must be '<count> <dimension>'", path=path, line=1)
    count, dim = header
    # The header may claim more rows than the file can hold (truncated or damaged):
    # allocate only what fits; the loop reports the row where the data ends.
    capacity = min(count, len(data) // (4 * dim) + 1) if dim > 0 else count
    check_array_fits(path, (capacity, dim))
    vectors = np.empty((capacity, dim), dtype=np.float32)
    words: list[str] = []
    pos = end + 1
    size = len(data)
    step = max(1, count // 100)
    for i in range(count):
        while pos < size and data[pos] in (10, 32):
            pos += 1
        space = bytes(raw[pos:pos + 1024]).find(b" ")
        if space < 0 or pos + space + 1 + 4 * dim > size:
            raise InputError(f"file ends inside word {i} of {count} (truncated file?)",
                             path=path, row=i)
        words.append(bytes(raw[pos:pos + space]).decode("utf-8", errors="replace"))
        pos += space + 1
        vectors[i] = np.frombuffer(raw[pos:pos + 4 * dim], dtype="<f4")
        pos += 4 * dim
        if i % step == 0:
            state.progress(i, count)
    return Loaded(vectors, pa.table({"word": words}), notes=["word2vec binary"])


def sniff_word2vec_bin(head: bytes, path: Path) -> bool:
    first = head.split(b"\n", 1)[0]
    return _count_header(first.decode("ascii", errors="replace")) is not None
