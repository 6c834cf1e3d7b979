"""word2vec / GloVe / fastText word vectors, text (.txt/.vec) and word2vec binary (.bin).

Text is read in 16 MB blocks of whole lines and split by Arrow compute kernels, so the
cost is per value whatever the dimension (a CSV reader's per-column overhead made a
400 000-wide line take gigabytes). A count header is checked against the file's size
before anything is allocated from it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders.base import Loaded, LoadOptions, check_array_fits, is_text, size_text
from explorer.core.loaders.list_columns import NUMBER_RE, first_index

_BLOCK = 16 << 20
_BOM = b"\xef\xbb\xbf"
_NUMBER = re.compile(NUMBER_RE)
_MAX_WORD = 1024  # bytes of a word in the binary format (the C tool's limit is 100)


def _count_header(first_line: str) -> tuple[int, int] | None:
    parts = first_line.removeprefix("\ufeff").split()  # files saved on Windows may start with a BOM
    if len(parts) == 2 and all(p.isascii() and p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _check_dimension(path: Path, dim: int) -> None:
    """Said here, as open_file would: a header of dimension 0 describes no vectors."""
    if dim == 0:
        raise InputError("vectors have dimension 0; at least 2 are needed to compare directions",
                         path=path, line=1)


def _check_header(path: Path, count: int, dim: int, bytes_per_value: int, have: int) -> None:
    """The smallest file that could hold `count` words of `dim` values must fit in `have`."""
    _check_dimension(path, dim)
    need = count * (bytes_per_value * dim + 2)  # a one-byte word, its separator, a newline
    if need > have:
        raise InputError(f"the header line says {count} words of {dim} numbers, which needs at "
                         f"least {size_text(need)}, but the file holds {size_text(have)} "
                         "(truncated file, or the first line is not a header?)",
                         path=path, line=1)


# --- text -------------------------------------------------------------------------

def _dimension_of(first: list[str]) -> int:
    """The numbers on the first line: all fields after the word, which may hold spaces."""
    spaces_in_word = next((i for i, p in enumerate(first[1:]) if _NUMBER.match(p)), 0)
    return len(first) - 1 - spaces_in_word


class _TextReader:
    """Blocks of lines into words and float32 rows, remembering what the file looked like."""

    def __init__(self, path: Path, dim: int | None) -> None:
        self.path = path
        self.dim = dim  # the header's, or found on the first line
        self.not_utf8 = 0
        self.first_not_utf8: int | None = None

    def block(self, lines: list[bytes], first_line: int) -> tuple[list[str], np.ndarray]:
        text = pc.utf8_rtrim(pa.array(self._decode(lines, first_line), pa.string()),
                             characters=" \r\n")
        present = pc.not_equal(text, "")
        line_numbers = np.flatnonzero(present.to_numpy(zero_copy_only=False)) + first_line
        fields = pc.split_pattern(text.filter(present), " ")
        if not len(fields):
            return [], np.zeros((0, self.dim or 0), np.float32)
        lengths = pc.list_value_length(fields).to_numpy()
        if self.dim is None:
            self.dim = _dimension_of(fields[0].as_py())
            if self.dim < 1:
                tab = "\t" in str(fields[0][0])
                raise InputError("the first line holds a word but no numbers", path=self.path,
                                 line=int(line_numbers[0]),
                                 hint="separate values with spaces" if tab else None)
        fit = lengths == self.dim + 1
        if fit.all():
            return self._rows(fields, line_numbers)
        return self._mixed(fields, line_numbers, fit)

    def _decode(self, lines: list[bytes], first_line: int) -> list[str]:
        if first_line == 1:
            lines[0] = lines[0].removeprefix(_BOM)
        try:
            return b"".join(lines).decode("utf-8").split("\n")[:len(lines)]
        except UnicodeDecodeError:
            out = []
            for i, line in enumerate(lines):
                try:
                    out.append(line.decode("utf-8"))
                except UnicodeDecodeError:
                    self.not_utf8 += 1
                    self.first_not_utf8 = self.first_not_utf8 or first_line + i
                    out.append(line.decode("utf-8", errors="replace"))
            return out

    def _rows(self, fields: pa.ListArray, line_numbers: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Lines of exactly a word and `dim` values."""
        flat = pc.list_flatten(fields)
        width = self.dim + 1
        is_word = np.zeros(len(flat), dtype=bool)
        is_word[::width] = True
        values = flat.filter(pa.array(~is_word))
        try:
            matrix = pc.cast(values, pa.float32()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:  # only now look for the cell that is not a number
            at = first_index(pc.invert(pc.match_substring_regex(values, NUMBER_RE)))
            row, col = divmod(at, self.dim)
            raise self._not_a_number(values[at].as_py(), int(line_numbers[row]), col + 2) from None
        return flat.filter(pa.array(is_word)).to_pylist(), matrix.reshape(-1, self.dim)

    def _mixed(self, fields: pa.ListArray, line_numbers: np.ndarray,
               fit: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Some lines are longer or shorter than a word and `dim` values.

        Longer ones whose extra leading fields are not numbers hold a word with spaces
        in it (GloVe's Common Crawl vectors have a few); anything else is a ragged line.
        """
        odd = np.flatnonzero(~fit)
        spaced = {int(i): self._spaced_word(fields[int(i)].as_py(), int(line_numbers[i]))
                  for i in odd}
        words, matrix = self._rows(fields.filter(pa.array(fit)), line_numbers[fit])
        out = np.empty((len(fields), self.dim), dtype=np.float32)
        out[fit] = matrix
        all_words: list[str] = []
        normal = iter(words)
        for i in range(len(fields)):
            if i in spaced:
                word, out[i] = spaced[i]
                all_words.append(word)
            else:
                all_words.append(next(normal))
        return all_words, out

    def _spaced_word(self, parts: list[str], line: int) -> tuple[str, np.ndarray]:
        extra = parts[:len(parts) - self.dim]
        if len(parts) <= self.dim or any(p == "" or _NUMBER.match(p) for p in extra[1:]):
            tab = any("\t" in p for p in parts)
            raise InputError(f"has {len(parts) - 1} numbers after the word, expected {self.dim} "
                             "(ragged rows)", path=self.path, line=line,
                             hint="separate values with spaces" if tab else None)
        values = parts[len(extra):]
        for col, value in enumerate(values, start=len(extra) + 1):
            if not _NUMBER.match(value):
                raise self._not_a_number(value, line, col)
        return " ".join(extra), np.array(values, dtype=np.float32)

    def _not_a_number(self, value: str, line: int, column: int) -> InputError:
        return InputError(f"{value[:40]!r} is not a number", path=self.path, line=line,
                          column=column)

    def notes(self, header: bool) -> list[str]:
        notes = ["word2vec text with a count header" if header else "GloVe-style text (no header)"]
        if self.not_utf8:
            notes.append(f"{self.not_utf8} lines are not valid UTF-8 (the first is line "
                         f"{self.first_not_utf8}); their undecodable bytes show as \ufffd")
        return notes


def load_word_text(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        first = fh.readline()
        header = _count_header(first.decode("utf-8", errors="replace"))
        if header:
            _check_header(path, *header, bytes_per_value=2, have=size - len(first))
            line = 2
        else:
            fh.seek(0)
            line = 1
        reader = _TextReader(path, header[1] if header else None)
        words: list[str] = []
        blocks: list[np.ndarray] = []
        while lines := fh.readlines(_BLOCK):
            block_words, block = reader.block(lines, line)
            words += block_words
            blocks.append(block)
            line += len(lines)
            state.progress(fh.tell(), size)
    vectors = np.concatenate(blocks) if len(blocks) != 1 else blocks[0]
    if header and header[0] != len(vectors):
        cut = " (truncated file?)" if header[0] > len(vectors) else ""
        raise InputError(f"the header line says {header[0]} words but the file holds "
                         f"{len(vectors)}{cut}", path=path, line=1)
    return Loaded(vectors, pa.table({"word": pa.array(words, pa.string())}),
                  notes=reader.notes(bool(header)))


def sniff_word_text(head: bytes, path: Path) -> bool:
    if not is_text(head):
        return False
    lines = head.decode("utf-8", errors="replace").splitlines()
    if not lines:
        return False
    body = lines[1:] if _count_header(lines[0]) else lines
    return bool(body) and len(body[0].split()) >= 2


# --- binary -------------------------------------------------------------------------

def load_word2vec_bin(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    data = np.memmap(path, dtype=np.uint8, mode="r")
    raw = memoryview(data)
    end = bytes(raw[:256]).find(b"\n")
    header = _count_header(bytes(raw[:end]).decode("ascii", errors="replace")) if end > 0 else None
    if header is None:
        raise InputError("the first line must be '<count> <dimension>'", path=path, line=1)
    count, dim = header
    size = len(data)
    _check_dimension(path, dim)
    if count and 4 * dim + 2 > size - end - 1:
        raise InputError(f"the header line says dimension {dim}, so one word and its vector "
                         f"take at least {size_text(4 * dim + 2)}, but the file holds only "
                         f"{size_text(size - end - 1)} after the header (truncated or damaged "
                         "file?)", path=path, line=1)
    # The header may claim more rows than the file can hold (truncated or damaged):
    # allocate only what fits; the loop reports the row where the data ends.
    capacity = min(count, (size - end - 1) // (4 * dim + 2)) if dim > 0 else count
    check_array_fits(path, (capacity, dim))
    vectors = np.empty((capacity, dim), dtype=np.float32)
    words: list[str] = []
    not_utf8: list[int] = []
    pos = end + 1
    step = max(1, count // 100)
    for i in range(count):
        while pos < size and data[pos] in (10, 32):
            pos += 1
        space = bytes(raw[pos:pos + _MAX_WORD]).find(b" ")
        if space < 0 and pos + _MAX_WORD < size:
            raise InputError(f"word {i} is longer than {_MAX_WORD} bytes, or not followed by a "
                             "space (damaged file?)", path=path, row=i)
        if space < 0 or pos + space + 1 + 4 * dim > size or i >= capacity:
            raise InputError(f"file ends inside word {i} of {count} (truncated file?)",
                             path=path, row=i)
        word = bytes(raw[pos:pos + space])
        try:
            words.append(word.decode("utf-8"))
        except UnicodeDecodeError:
            not_utf8.append(i)
            words.append(word.decode("utf-8", errors="replace"))
        pos += space + 1
        vectors[i] = np.frombuffer(raw[pos:pos + 4 * dim], dtype="<f4")
        pos += 4 * dim
        if i % step == 0:
            state.progress(i, count)
    notes = ["word2vec binary"]
    if not_utf8:
        notes.append(f"{len(not_utf8)} words are not valid UTF-8 (the first is row "
                     f"{not_utf8[0]}); their undecodable bytes show as \ufffd")
    return Loaded(vectors, pa.table({"word": words}), notes=notes)


def sniff_word2vec_bin(head: bytes, path: Path) -> bool:
    first = head.split(b"\n", 1)[0]
    return _count_header(first.decode("ascii", errors="replace")) is not None
