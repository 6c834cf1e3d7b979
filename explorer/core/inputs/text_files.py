"""Plain-text documents (.txt, .md, .rst): decoded strictly, then cut into chunks.

Only decodings that cannot be wrong are tried: UTF-8, and UTF-16/32 when a byte
order mark says so. Guessing a legacy code page would encode mojibake without a
word of warning, so anything else is skipped with the offending byte's offset.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Iterator
from pathlib import Path

from explorer.core.inputs.chunking import approx_tokens, chunk_spans
from explorer.core.inputs.items import InputOptions, Item, SkipFile
from explorer.core.loaders.base import available_memory, size_text

SUFFIXES = (".txt", ".md", ".markdown", ".rst")
# UTF-32 first: its little-endian mark begins with UTF-16's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_BINARY_PROBE = 8192
_MEMORY_PER_BYTE = 6  # the bytes, the str (up to 4 bytes a character), the chunks' slices
# For estimates: bytes of English text per approx_tokens token, and how full chunks get.
_BYTES_PER_TOKEN = 4.6
_FILL = 0.85


def decode(data: bytes) -> str:
    """The file's text (without a byte order mark); SkipFile when it is not clearly text."""
    if not data:
        raise SkipFile("empty file")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise SkipFile(f"starts with a {codec.upper()} byte order mark but is not "
                               f"valid {codec.upper()} (byte offset {exc.start})") from None
    nul = data.find(b"\0", 0, _BINARY_PROBE)
    if nul >= 0:
        raise SkipFile(f"binary file (NUL byte at offset {nul}), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SkipFile(f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
                       "cannot be decoded (save the file as UTF-8)", line=line) from None


def read_text(path: Path) -> str:
    """The whole document: decoded, it takes up to four times its size in memory."""
    size = path.stat().st_size
    if size * _MEMORY_PER_BYTE > available_memory():
        raise SkipFile(f"is {size_text(size)}: too large to read whole with the memory that is "
                       "free; split it into smaller files")
    text = decode(path.read_bytes())
    if not text.strip():
        raise SkipFile("holds only whitespace")
    return text


def chunk_items(text: str, source: str, options: InputOptions) -> Iterator[Item]:
    """One item per chunk, with where it came from."""
    count = options.count_tokens or approx_tokens
    spans = chunk_spans(text, options.chunk_tokens, options.overlap_tokens, count)
    for i, (start, end) in enumerate(spans):
        meta = {"source": source, "chunk": i, "char_start": start, "char_end": end}
        yield Item(text=text[start:end], image=None, meta=meta)


def read_items(path: Path, source: str, options: InputOptions) -> Iterator[Item]:
    yield from chunk_items(read_text(path), source, options)


def estimate_chunks(tokens: float, options: InputOptions) -> int:
    """Chunks for a document of about `tokens` tokens: each adds the budget less the overlap."""
    step = max(1.0, options.chunk_tokens * _FILL - options.overlap_tokens)
    return max(1, math.ceil((tokens - options.overlap_tokens) / step))


def estimate(path: Path, options: InputOptions) -> int:
    size = path.stat().st_size
    return estimate_chunks(size / _BYTES_PER_TOKEN, options) if size else 0
