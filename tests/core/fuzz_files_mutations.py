"""Mutations of a valid file for the file fuzzing: Hypothesis strategies of operations,
applying them, and the one-line command that replays a case.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import sys
import zipfile
from pathlib import Path

from fuzz_files_corpus import DIM, KINDS, ROWS

REPO = Path(__file__).resolve().parents[2]

# --- mutations ---------------------------------------------------------------------
#
# A case is a list of operations, plain tuples so that a failing example prints as
# something that can be pasted back (see repro_command). A position is (anchor, offset):
# "start" and "end" count from that end of the file (headers, footers), "any" is taken
# modulo the length. The operations:
#   flip / set       one byte xor-ed with a mask / set to a value
#   truncate         the file cut at a position
#   delete / insert  a run of bytes removed / inserted (interesting or random bytes)
#   dup              a run of bytes copied to another position (duplicated chunks)
#   int              a 1/2/4/8-byte integer written over the bytes at a position
#   field            one occurrence of a binary count or dimension (FIELD_VALUES) changed
#   number / string  the n-th number or quoted string of the file replaced (header fields
#                    such as the .npy shape and descr, word2vec counts, safetensors
#                    shapes, offsets and dtypes), keeping the length if asked
#   line             (text) a line duplicated, deleted, swapped or cut
#   member           (zip) operations on one member, the archive written again

INTERESTING_BYTES = (
    b"\x00", b"\x00" * 8, b"\xff", b"\xff" * 8, b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00",
    b"\n", b"\r\n", b"\n\n", b"\r", b",", b"\t", b" ", b'"', b"'", b"\\", b"[", b"]", b"{",
    b"}", b"[]", b"{}", b"null", b"nan", b"-inf", b"1e999", b"-0", b"\xef\xbb\xbf", b"\xc3",
    b"\xff\xfe", b"PK\x03\x04", b"PAR1", b"ARROW1", b"\x93NUMPY", b"\x89HDF\r\n\x1a\n",
    b'"embedding": "x"', b"\xe2\x80\xa8",
)
INTERESTING_INTS = (
    0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 1 << 20, (1 << 20) + 1, 1 << 24,
    1 << 30, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1,
)
NUMBER_TEXTS = (
    "0", "1", "2", "-1", "-2", "3", "100000000", "2147483647", "2147483648", "-2147483649",
    "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551616",
    "99999999999999999999999999", "1e309", "-1e309", "1e-320", "nan", "inf", "-inf", "1.5",
    "0.0", "-0", "", " ", "0x10", "1_000", "+5", "1e5", "٣",
)
STRING_TEXTS = (
    "<f4", "<f8", "<f2", ">f4", "|u1", "<i8", ">i4", "|b1", "|i1", "<c8", "|O", "<U8", "|S4",
    "|V16", "<M8[s]", "<m8", "f4", "float32", "[('a', '<f4')]", "F32", "F64", "F16", "BF16",
    "I64", "I32", "I8", "U8", "BOOL", "F8_E4M3", "", "x" * 300, "embedding", "embeddings",
    "shape", "dtype", "data_offsets", "__metadata__", "descr", "fortran_order", "ids", "id",
    "text", "word",
)

TEXT_SNIPPETS = (
    b"\n", b"\r\n", b"\n\n\n", b" ", b"  ", b"\t", b",", b",,", b";", b'"', b'""', b"'", b"[", b"]",
    b"{", b"}", b":", b"#", b"nan", b"NaN", b"inf", b"-inf", b"1e39", b"1e999", b"-0.0", b"0x1p3",
    b"null", b"true", b"[]", b"{}", b'"a"', b"\\", b"\\u0000", b"\\ud800", b"\xc3\xa9",
    b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\xf0\x9f\x98\x80", b"\x0b", b"\x0c", b"\x1c",
    b'{"embedding": [1, 2]}', b'{"embedding": "1 2"}', b'{"embedding": [[1, 2]]}',
    b'"[1, 2, 3]"', b"1 2 3", b"w 1 2 3 4\n", b"12 3\n", b"0 0\n",
)

# Binary header fields hold the row count, the dimension or sizes derived from them: the
# "field" operation finds these values (little-endian, 2, 4 or 8 bytes) and changes one.
FIELD_VALUES = (ROWS, DIM, ROWS * DIM, ROWS * DIM * 4, DIM * 4, ROWS * 8, ROWS // 3, ROWS // 2)

_NUMBER_TOKEN = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_STRING_TOKEN = re.compile(rb"'([^'\n]{0,80})'|\"([^\"\n]{0,80})\"")


def mutations(kind: str | None = None):
    """The Hypothesis strategy for a kind of file: one to four operations.

    Header fields are numbers and quoted strings at the front of most files, so the
    token operations favour the first few tokens. For text formats more operations keep
    the file UTF-8 text (lines duplicated, dropped, swapped or cut; text inserted; ASCII
    bits flipped), so that more cases get past the sniffer (a non-UTF-8 byte in the head
    makes the file "not text") into the parser. For zip archives (.npz) a "member"
    operation mutates one member and writes the archive again with good CRCs and sizes,
    so that a damaged .npy header inside reaches the loader instead of zipfile's CRC check.
    """
    from hypothesis import strategies as st

    k = KINDS[kind] if kind else None
    where = st.one_of(st.tuples(st.just("start"), st.integers(0, 512)),
                      st.tuples(st.just("end"), st.integers(0, 512)),
                      st.tuples(st.just("any"), st.integers(0, 1 << 20)))
    inserted = st.one_of(st.sampled_from(INTERESTING_BYTES), st.binary(min_size=1, max_size=64))
    integer = st.one_of(st.sampled_from(INTERESTING_INTS), st.integers(0, (1 << 64) - 1))
    number = st.one_of(st.sampled_from(NUMBER_TEXTS), st.integers(-(1 << 70), 1 << 70).map(str),
                       st.floats().map(repr))
    string = st.one_of(st.sampled_from(STRING_TEXTS), st.text(max_size=16))
    token = st.one_of(st.integers(0, 8), st.integers(0, 300))
    ops = [
        st.tuples(st.just("flip"), where, st.integers(1, 255)),
        st.tuples(st.just("set"), where, st.integers(0, 255)),
        st.tuples(st.just("truncate"), where),
        st.tuples(st.just("delete"), where, st.integers(1, 256)),
        st.tuples(st.just("insert"), where, inserted),
        st.tuples(st.just("dup"), where, st.integers(1, 512), where),
        st.tuples(st.just("int"), where, st.sampled_from([1, 2, 4, 8]), integer,
                  st.sampled_from(["<", ">"])),
        st.tuples(st.just("number"), token, number, st.booleans()),
        st.tuples(st.just("string"), token, string, st.booleans()),
        st.tuples(st.just("field"), st.sampled_from(FIELD_VALUES), st.sampled_from([2, 4, 8]),
                  st.integers(0, 64), integer),
    ]
    if k is not None and k.text:
        typed = st.one_of(st.sampled_from(TEXT_SNIPPETS),
                          st.text(st.characters(codec="utf-8"), min_size=1, max_size=24)
                          .map(lambda t: t.encode("utf-8")))
        line = st.tuples(st.just("line"), st.sampled_from(["dup", "delete", "swap", "cut"]),
                         st.integers(0, 200), st.integers(0, 200))
        ops += [
            st.tuples(st.just("flip"), where, st.integers(1, 127)),
            st.tuples(st.just("insert"), where, typed),
            line, line,
            st.tuples(st.just("number"), st.integers(0, 300), number, st.booleans()),
        ]
    if k is not None and k.zip:
        inner = st.lists(st.one_of(ops), min_size=1, max_size=3)
        member = st.tuples(st.just("member"), st.integers(0, 7), inner)
        ops += [member, member, member]
    return st.lists(st.one_of(ops), min_size=1, max_size=4)


def _at(where: tuple[str, int], n: int) -> int:
    anchor, off = where
    if anchor == "start":
        return min(off, n)
    if anchor == "end":
        return max(0, n - off)
    return off % (n + 1)


def _replace_token(data: bytes, spans: list[tuple[int, int]], index: int, text: str,
                   keep_length: bool) -> bytes:
    """Replace one token; keep_length takes the growth from (or pads with) the spaces after it,
    so that a length field in front (the .npy and safetensors headers) stays right."""
    if not spans:
        return data
    a, b = spans[index % len(spans)]
    new = text.encode("utf-8", errors="surrogatepass")
    out = bytearray(data[:a] + new + data[b:])
    delta = len(new) - (b - a)
    end = a + len(new)
    if keep_length and delta > 0:
        window = out[end:end + 4096]
        for _ in range(delta):
            i = window.find(b" ")
            if i < 0:
                break
            del window[i]
        out[end:end + 4096] = window
    elif keep_length and delta < 0:
        out[end:end] = b" " * -delta
    return bytes(out)


def apply(data: bytes, ops) -> bytes:
    """The file after the operations (deterministic: the same ops give the same bytes)."""
    for op in ops:
        kind, n = op[0], len(data)
        if kind == "flip" and n:
            i = min(_at(op[1], n), n - 1)
            data = data[:i] + bytes([data[i] ^ op[2]]) + data[i + 1:]
        elif kind == "set" and n:
            i = min(_at(op[1], n), n - 1)
            data = data[:i] + bytes([op[2]]) + data[i + 1:]
        elif kind == "truncate":
            data = data[:_at(op[1], n)]
        elif kind == "delete":
            i = _at(op[1], n)
            data = data[:i] + data[i + op[2]:]
        elif kind == "insert":
            i = _at(op[1], n)
            data = data[:i] + op[2] + data[i:]
        elif kind == "dup":
            i, j = _at(op[1], n), _at(op[3], n)
            data = data[:j] + data[i:i + op[2]] + data[j:]
        elif kind == "int" and n:
            width, value, endian = op[2], op[3], op[4]
            i = min(_at(op[1], n), max(0, n - width))
            raw = (value % (1 << (8 * width))).to_bytes(width, "little" if endian == "<" else "big")
            data = data[:i] + raw[:n - i] + data[i + width:]
        elif kind == "number":
            spans = [m.span() for m in _NUMBER_TOKEN.finditer(data)]
            data = _replace_token(data, spans, op[1], op[2], op[3])
        elif kind == "field":
            data = _field_op(data, op[1], op[2], op[3], op[4])
        elif kind == "member":
            data = _member_op(data, op[1], op[2])
        elif kind == "line":
            data = _line_op(data, op[1], op[2], op[3])
        elif kind == "string":
            spans = [m.span(1) if m.group(1) is not None else m.span(2)
                     for m in _STRING_TOKEN.finditer(data)]
            data = _replace_token(data, spans, op[1], op[2], op[3])
    return data


def _field_op(data: bytes, value: int, width: int, index: int, new: int) -> bytes:
    spans = []
    pattern = value.to_bytes(width, "little")
    i = data.find(pattern)
    while i >= 0:
        spans.append(i)
        i = data.find(pattern, i + 1)
    if not spans:
        return data
    at = spans[index % len(spans)]
    return data[:at] + (new % (1 << (8 * width))).to_bytes(width, "little") + data[at + width:]


def _member_op(data: bytes, index: int, ops) -> bytes:
    """Mutate one member of a zip archive and write the archive again (a no-op if the
    archive is already unreadable)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [(info, zf.read(info)) for info in zf.infolist()]
    except Exception:  # noqa: BLE001
        return data
    if not members:
        return data
    chosen = index % len(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for i, (info, content) in enumerate(members):
            zf.writestr(info, apply(content, ops) if i == chosen else content,
                        compress_type=info.compress_type)
    return out.getvalue()


def _line_op(data: bytes, action: str, i: int, j: int) -> bytes:
    lines = data.split(b"\n")
    if not lines:
        return data
    i, j = i % len(lines), j % len(lines)
    if action == "dup":
        lines.insert(j, lines[i])
    elif action == "delete":
        del lines[i]
    elif action == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif action == "cut":
        lines[i] = lines[i][:len(lines[i]) * (j % 8) // 8]
    return b"\n".join(lines)


def repro_command(kind: str, ops) -> str:
    """One line that runs this case again and prints the full outcome."""
    script = os.path.relpath(REPO / "tests" / "benchmarks" / "fuzz_files.py", Path.cwd())
    return (f"{shlex.quote(sys.executable)} {script} --repro {kind} "
            f"{shlex.quote(json.dumps(jsonable(ops)))}")


def jsonable(value):
    """Operations as JSON (bytes as {"hex": ...}); ops_from_json reverses it."""
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def ops_from_json(text: str):
    def back(value):
        if isinstance(value, dict):
            return bytes.fromhex(value["hex"])
        if isinstance(value, list):
            return tuple(back(v) for v in value)
        return value

    return [back(op) for op in json.loads(text)]
