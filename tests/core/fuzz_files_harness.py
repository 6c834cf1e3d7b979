"""Fuzzing the file loaders (issue 14): valid files, Hypothesis mutations, isolated runs.

Used by tests/core/test_fuzz_files.py (a CI-sized run that fails on the first bad case) and
tests/benchmarks/fuzz_files.py (many cases, a tally of outcomes, the distinct traceback
sites).

Each case runs in a forked child of a *fork server*: a fresh interpreter that imports
explorer and every loader once, never runs a loader itself (so it has no worker threads
when it forks) and forks one child per case. The child gets an address-space limit
(RLIMIT_AS: what the server had mapped at the fork plus 2 GiB), runs the case and sends
the outcome back on a pipe; the server kills it after the timeout (30 s). So a case that
hangs, allocates without bound or crashes the interpreter is recorded as such, and never
takes the test run or the machine with it.

Outcomes, from worst to best:
  crash      the child died from a signal, or exited without a word (native crash, abort)
  hang       still running after the timeout
  memory     a MemoryError anywhere (also one the app turned into "not enough memory")
             or a peak RSS above 2 GiB: the case wanted more than 2 GiB for a file of
             a few KB
  traceback  any exception other than InputError (a plugin's contained exception too)
  insane     it loaded, but the result is inconsistent (shapes, non-finite count,
             `inspect --json` not JSON)
  clean      an InputError with a message and no traceback text
  success    it loaded and the result is sane

A case runs the public entry (loaders.open_file, then checks.check_set, as `inspect`
does) and then the CLI's `inspect --json` in-process (explorer.cli.run); the worse of
the two is the case's outcome. run_cli_subprocess runs the real command for a sample.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import select
import shlex
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GIB = 1 << 30
MEMORY_LIMIT = 2 * GIB  # what a case may allocate beyond the server's own mappings
TIMEOUT = 30.0

OUTCOMES = ("success", "clean", "insane", "traceback", "memory", "hang", "crash")
GOOD = ("success", "clean")
_RANK = {name: i for i, name in enumerate(OUTCOMES)}

ROWS, DIM = 40, 12  # text files of 5-7 KB: mutations past the 4 KB head get past the sniffers


# --- valid files -------------------------------------------------------------------

def _vectors() -> np.ndarray:
    return np.random.default_rng(14).standard_normal((ROWS, DIM)).astype(np.float32)


def _words() -> list[str]:
    return [f"w{i}" for i in range(ROWS)]


def _table():
    import pyarrow as pa

    v = _vectors()
    return pa.table({"id": pa.array(range(ROWS), pa.int64()), "text": _words(),
                     "embedding": pa.array(v.tolist(), pa.list_(pa.float32()))})


def _write_npy(path: Path) -> None:
    np.save(path, _vectors())


def _write_npz(path: Path) -> None:
    with open(path, "wb") as fh:  # np.savez would append .npz to a name without it
        np.savez(fh, embeddings=_vectors(), ids=np.arange(ROWS, dtype=np.int64),
                 labels=np.array(_words()))


def _write_npz_compressed(path: Path) -> None:
    with open(path, "wb") as fh:
        np.savez_compressed(fh, embeddings=_vectors(), ids=np.arange(ROWS, dtype=np.int64))


def _write_vecs(path: Path) -> None:
    v = _vectors()
    rows = {".fvecs": v.astype("<f4"), ".ivecs": (v * 100).astype("<i4"),
            ".bvecs": ((v - v.min()) * 30).astype(np.uint8)}[path.suffix]
    with open(path, "wb") as fh:
        for row in rows:
            fh.write(struct.pack("<i", DIM) + row.tobytes())


def _word_lines() -> list[str]:
    return [w + " " + " ".join(f"{x:.6f}" for x in row) for w, row in zip(_words(), _vectors())]


def _write_word2vec_text(path: Path) -> None:
    path.write_text(f"{ROWS} {DIM}\n" + "\n".join(_word_lines()) + "\n", encoding="utf-8")


def _write_glove(path: Path) -> None:
    path.write_text("\n".join(_word_lines()) + "\n", encoding="utf-8")


def _write_word2vec_bin(path: Path) -> None:
    with open(path, "wb") as fh:
        fh.write(f"{ROWS} {DIM}\n".encode())
        for w, row in zip(_words(), _vectors()):
            fh.write(w.encode() + b" " + row.astype("<f4").tobytes() + b"\n")


def _write_csv(path: Path) -> None:
    head = "id,text," + ",".join(f"d{i}" for i in range(DIM))
    rows = [f'{i},"word {i}",' + ",".join(f"{x:.6f}" for x in row)
            for i, row in enumerate(_vectors())]
    path.write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def _write_tsv(path: Path) -> None:  # the Projector's headerless vectors.tsv
    path.write_text("\n".join("\t".join(f"{x:.6f}" for x in row) for row in _vectors()) + "\n",
                    encoding="utf-8")


def _write_jsonl(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i, (w, row) in enumerate(zip(_words(), _vectors())):
            fh.write(json.dumps({"id": i, "text": w,
                                 "embedding": [round(float(x), 6) for x in row]}) + "\n")


def _write_parquet(path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(_table(), path, row_group_size=ROWS // 3)


def _write_parquet_plain(path: Path) -> None:  # damage reaches the decoders, not snappy
    import pyarrow.parquet as pq

    pq.write_table(_table(), path, row_group_size=ROWS // 3, compression="none")


def _write_arrow(path: Path) -> None:
    import pyarrow.feather as feather

    feather.write_feather(_table(), path, compression="uncompressed")


def _write_arrow_stream(path: Path) -> None:
    import pyarrow.ipc as ipc

    table = _table()
    with open(path, "wb") as fh, ipc.new_stream(fh, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=ROWS // 2):
            writer.write_batch(batch)


def _write_hdf5(path: Path) -> None:
    import h5py

    v = _vectors()
    with h5py.File(path, "w") as fh:  # the ann-benchmarks layout
        fh.attrs["distance"] = "angular"
        fh["train"] = v
        fh["test"] = v[:4]
        fh["neighbors"] = np.zeros((4, 3), np.int32)


def _write_safetensors(path: Path) -> None:
    """Written by hand after the format's spec, so that the `safetensors` package is not needed."""
    tensors = {"embeddings": ("F32", _vectors().astype("<f4")),
               "ids": ("I64", np.arange(ROWS, dtype="<i8"))}
    header, data, offset = {"__metadata__": {"source": "fuzz"}}, b"", 0
    for name, (dtype, arr) in tensors.items():
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


@dataclass(frozen=True)
class Kind:
    """A valid file of one format (or one variant of it): the loader that reads it, its name."""

    name: str
    format: str  # the loader (explorer.core.loaders.formats()) that reads it
    filename: str
    write: object
    text: bool = False  # a text format: mutations() weighs text-keeping operations more
    zip: bool = False  # a zip archive: mutations() also mutates members and zips them again


KINDS = {k.name: k for k in [
    Kind("npy", "npy", "vectors.npy", _write_npy),
    Kind("npz", "npz", "arrays.npz", _write_npz, zip=True),
    Kind("npz-compressed", "npz", "arrays.npz", _write_npz_compressed, zip=True),
    Kind("fvecs", "fvecs", "base.fvecs", _write_vecs),
    Kind("bvecs", "fvecs", "base.bvecs", _write_vecs),
    Kind("ivecs", "fvecs", "base.ivecs", _write_vecs),
    Kind("word2vec-text", "word2vec-text", "words.vec", _write_word2vec_text, text=True),
    Kind("glove", "word2vec-text", "glove.txt", _write_glove, text=True),
    Kind("word2vec-bin", "word2vec-bin", "words.bin", _write_word2vec_bin),
    Kind("csv", "csv", "table.csv", _write_csv, text=True),
    Kind("tsv", "csv", "emb.tsv", _write_tsv, text=True),
    Kind("jsonl", "jsonl", "rows.jsonl", _write_jsonl, text=True),
    Kind("parquet", "parquet", "table.parquet", _write_parquet),
    Kind("parquet-uncompressed", "parquet", "plain.parquet", _write_parquet_plain),
    Kind("arrow", "arrow", "table.arrow", _write_arrow),
    Kind("arrow-stream", "arrow", "stream.arrow", _write_arrow_stream),
    Kind("hdf5", "hdf5", "ann.hdf5", _write_hdf5),
    Kind("safetensors", "safetensors", "model.safetensors", _write_safetensors),
]}


def write_valid(kind: str, directory: Path) -> Path:
    k = KINDS[kind]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / k.filename
    k.write(path)
    return path


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
            f"{shlex.quote(json.dumps(_jsonable(ops)))}")


def _jsonable(value):
    """Operations as JSON (bytes as {"hex": ...}); ops_from_json reverses it."""
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def ops_from_json(text: str):
    def back(value):
        if isinstance(value, dict):
            return bytes.fromhex(value["hex"])
        if isinstance(value, list):
            return tuple(back(v) for v in value)
        return value

    return [back(op) for op in json.loads(text)]


# --- the fork server (client side) ---------------------------------------------------

class FuzzServer:
    """A fresh interpreter that forks one child per case. Use as a context manager."""

    def __init__(self, *, env: dict[str, str] | None = None, home: Path | None = None,
                 python: str = sys.executable):
        env = dict(os.environ if env is None else env)
        self._home = tempfile.TemporaryDirectory(prefix="fuzz-home-") if home is None else None
        env["EXPLORER_HOME"] = str(home or self._home.name)
        # one thread each: the machine is shared, and the server must be single-threaded
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        self.env = env
        self.proc = subprocess.Popen([python, str(Path(__file__).resolve()), "--serve"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     text=True, bufsize=1)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fuzz server did not start (see stderr)")
        self.info = json.loads(line)

    @property
    def formats(self) -> list[str]:
        return self.info["formats"]

    def run(self, path: Path, *, cli: bool = True, timeout: float = TIMEOUT) -> dict:
        """The case's outcome. A hang or a crash is run once more before it counts: on a
        shared machine a stall (another process taking all memory, the OOM killer) looks
        the same, and a real one happens again. `retried` says when the first run was
        not confirmed."""
        result = self._request(path, cli, timeout)
        if result["outcome"] in ("hang", "crash"):
            again = self._request(path, cli, timeout)
            if again["outcome"] != result["outcome"]:
                again["retried"] = f"first run: {result['outcome']}"
            result = again
        return result

    def _request(self, path: Path, cli: bool, timeout: float) -> dict:
        request = {"path": str(path), "cli": cli, "timeout": timeout, "memory": MEMORY_LIMIT}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fuzz server died")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._home is not None:
            self._home.cleanup()

    def __enter__(self) -> FuzzServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def describe(result: dict, kind: str | None = None, ops=None) -> str:
    """A readable account of a case, for a failing test or the tally's list of sites."""
    lines = [f"outcome {result['outcome']}"
             + (f" in {result['elapsed']:.1f} s" if "elapsed" in result else "")]
    if kind is not None:
        lines.append(f"kind {kind}, ops {ops!r}")
        lines.append("repro: " + repro_command(kind, ops))
    for part in ("api", "cli"):
        r = result.get(part)
        if not r:
            continue
        if part == "cli" and all(r.get(f) == result["api"].get(f)
                                 for f in ("outcome", "type", "site")):
            lines.append(f"cli: the same ({r['outcome']})")
            continue
        head = f"{part}: {r['outcome']}"
        if r.get("type"):
            head += f" {r['type']}"
        if r.get("site"):
            head += f" at {r['site']}"
        lines.append(head)
        if r.get("message"):
            lines.append(f"  message: {r['message'][:500]}")
        if r.get("traceback") and r["outcome"] not in GOOD:
            lines.append("  " + r["traceback"][-2500:].replace("\n", "\n  "))
    if result.get("stderr"):
        lines.append("child stderr: " + result["stderr"][-2500:])
    return "\n".join(lines)


def site_key(result: dict) -> tuple:
    """What makes two bad outcomes the same problem: outcome, exception type, innermost site."""
    for part in ("api", "cli"):
        r = result.get(part) or {}
        if r.get("outcome") == result["outcome"]:
            return (result["outcome"], r.get("type"), r.get("site"))
    return (result["outcome"], result.get("type"), result.get("site"))


def worst(*outcomes: str) -> str:
    return max(outcomes, key=_RANK.__getitem__)


# --- the real command, for a sample --------------------------------------------------

def run_cli_subprocess(path: Path, *, env: dict[str, str] | None = None,
                       timeout: float = TIMEOUT, python: str = sys.executable) -> dict:
    """`embedding-explorer inspect --json PATH` as a user runs it (python -m explorer)."""
    env = dict(os.environ if env is None else env)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    limit = MEMORY_LIMIT + GIB // 2  # plus what the interpreter and its imports map

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    start = time.perf_counter()
    # cwd: `python -m` puts the working directory first on sys.path, where a checkout's
    # explorer/ would win over PYTHONPATH
    proc = subprocess.Popen([python, "-m", "explorer", "inspect", "--json", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=Path(path).parent, preexec_fn=limits, text=True,
                            errors="replace")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {"outcome": "hang", "elapsed": time.perf_counter() - start, "stderr": err[-3000:]}
    result = {"elapsed": time.perf_counter() - start, "returncode": proc.returncode,
              "stderr": err[-3000:]}
    if proc.returncode < 0:
        result["outcome"] = "crash"
        result["type"] = signal.Signals(-proc.returncode).name
    elif "MemoryError" in err or "not enough memory" in err:
        result["outcome"] = "memory"
    elif proc.returncode == 0:
        try:
            json.loads(out)
            result["outcome"] = "success"
        except ValueError:
            result["outcome"] = "insane"
            result["message"] = "stdout is not JSON: " + out[:300]
    elif proc.returncode == 2 and err.startswith("error: ") and "Traceback" not in err:
        result["outcome"] = "clean"
        result["message"] = err.strip()
    else:
        result["outcome"] = "traceback"
        last = err.strip().splitlines()[-1] if err.strip() else ""
        result["type"] = last.split(":", 1)[0]
        result["message"] = last
    return result


# --- the server and its children -------------------------------------------------------

def _serve() -> None:
    out = os.fdopen(os.dup(1), "w")  # the protocol; stray prints must not break it
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    import explorer
    from explorer import cli  # noqa: F401  (imported once, here, not in every child)
    from explorer.core import checks  # noqa: F401
    from explorer.core.loaders import formats

    fmts = formats()
    for fmt in fmts:  # import every loader's module now, without running any of them
        try:
            fmt.sniff(b"", Path("x"))
        except Exception:  # noqa: BLE001
            pass
    import h5py  # noqa: F401  (arrays imports it lazily)
    try:
        import explorer_safetensors
        plugin = explorer_safetensors.__file__
    except ImportError:
        plugin = None
    info = {"explorer": explorer.__file__, "safetensors_plugin": plugin,
            "formats": [f.name for f in fmts], "python": sys.executable,
            "threads": threading_count()}
    out.write(json.dumps(info) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        out.write(json.dumps(_fork_case(request)) + "\n")
        out.flush()


def threading_count() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def _mapped_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _fork_case(request: dict) -> dict:
    limit = _mapped_bytes() + request["memory"]
    rfd, wfd = os.pipe()
    errfile = tempfile.TemporaryFile()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(rfd)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.dup2(errfile.fileno(), 2)
            import faulthandler
            faulthandler.enable(file=errfile, all_threads=True)
            result = _case(request["path"], request["cli"])
            data = json.dumps(result).encode()
        except BaseException as exc:  # noqa: BLE001  (the harness itself failed)
            data = json.dumps({"outcome": "crash", "type": "harness: " + type(exc).__name__,
                               "message": "".join(traceback.format_exception(exc))}).encode()
            code = 1
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(wfd, view):]
        finally:
            os._exit(code)
    os.close(wfd)
    chunks, hung = [], False
    deadline = start + request["timeout"]
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            hung = True
            break
        ready, _, _ = select.select([rfd], [], [], remaining)
        if ready:
            chunk = os.read(rfd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    if hung:
        os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(rfd)
    errfile.seek(0)
    stderr = errfile.read()[-4000:].decode("utf-8", errors="replace")
    errfile.close()
    peak = usage.ru_maxrss * 1024
    if hung:
        result = {"outcome": "hang", "message": f"still running after {request['timeout']} s"}
    elif os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        result = {"outcome": "crash", "type": sig, "site": _fault_site(stderr),
                  "message": f"killed by {sig}"}
    else:
        try:
            result = json.loads(b"".join(chunks))
        except ValueError:
            result = {"outcome": "crash", "type": f"exit {os.WEXITSTATUS(status)}",
                      "message": "the child exited without a result"}
    if peak > MEMORY_LIMIT and result["outcome"] != "hang":
        result["outcome"] = worst(result["outcome"], "memory")
        result["message"] = f"peak RSS {peak / GIB:.2f} GiB"
    result.update(elapsed=elapsed, peak_rss=peak)
    if result["outcome"] not in GOOD and stderr.strip():
        result["stderr"] = stderr
    return result


def _fault_site(stderr: str) -> str | None:
    """The innermost explorer frame of faulthandler's dump of the crashing thread."""
    for line in stderr.splitlines():
        m = re.search(r'File "([^"]+)", line (\d+) in (\S+)', line)
        if m and _ours(m.group(1)):
            return f"{_short(m.group(1))}:{m.group(2)} in {m.group(3)}"
    return None


def _ours(filename: str) -> bool:
    return (f"{os.sep}explorer{os.sep}" in filename
            or f"{os.sep}explorer_safetensors{os.sep}" in filename)


def _short(filename: str) -> str:
    for marker in (f"{os.sep}explorer_safetensors{os.sep}", f"{os.sep}explorer{os.sep}"):
        i = filename.rfind(marker)
        if i >= 0:
            return filename[i + 1:]
    parts = Path(filename).parts
    return "/".join(parts[-3:])


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _sites(exc: BaseException) -> tuple[str | None, str | None]:
    """The innermost frame in explorer (or the plugin) and the innermost frame of all."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if _ours(f.filename)]
    site = f"{_short(ours[-1].filename)}:{ours[-1].lineno} in {ours[-1].name}" if ours else None
    deepest = (f"{_short(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name}"
               if frames else None)
    return site, deepest


def _failure(outcome: str, exc: BaseException) -> dict:
    site, deepest = _sites(exc)
    return {"outcome": outcome, "type": type(exc).__name__, "site": site, "deepest": deepest,
            "message": str(exc)[:1000],
            "traceback": "".join(traceback.format_exception(exc))[-6000:]}


def _classify(exc: BaseException) -> dict:
    from explorer.core.errors import InputError

    memory = next((e for e in _chain(exc) if isinstance(e, MemoryError)), None)
    if memory is not None:
        out = _failure("memory", memory)
        if memory is not exc:
            out["message"] = f"{type(exc).__name__}: {exc} (from {type(memory).__name__})"
        return out
    if isinstance(exc, InputError):
        inner = exc.__context__
        if type(exc).__name__ == "PluginFailure" and inner is not None \
                and not isinstance(inner, InputError):
            out = _failure("traceback", inner)  # a plugin's exception, contained by the app
            out["type"] = f"{type(inner).__name__} (contained as PluginFailure)"
            return out
        text = str(exc)
        if not exc.message or "Traceback" in text:
            out = _failure("traceback", exc)
            out["type"] = "InputError without a clean message"
            return out
        return {"outcome": "clean", "type": type(exc).__name__, "message": text[:1000]}
    return _failure("traceback", exc)


def _insane(es, report) -> str | None:
    vectors = es.vectors
    if getattr(vectors, "ndim", 0) != 2:
        return "vectors are not 2-D"
    n, d = vectors.shape
    if n < 1 or d < 2:
        return f"shape {vectors.shape}"
    if vectors.dtype.kind not in "fiub":
        return f"vectors of dtype {vectors.dtype}"
    if es.metadata.num_rows != n:
        return f"{es.metadata.num_rows} metadata rows for {n} vectors"
    if (es.count, es.dim) != (n, d):
        return f"count/dim {es.count}x{es.dim} but vectors {n}x{d}"
    with np.errstate(all="ignore"):
        values = np.asarray(vectors).astype(np.float32)
    nonfinite = int((~np.isfinite(values)).any(axis=1).sum())
    if nonfinite != report.scan.nan_rows:
        return f"{nonfinite} rows hold NaN/Inf but the checks count {report.scan.nan_rows}"
    return None


def _case(path: str, with_cli: bool) -> dict:
    from explorer.core.checks import check_set
    from explorer.core.loaders import open_file

    ignored: list = []  # "Exception ignored in ...": a traceback on stderr
    sys.unraisablehook = ignored.append
    try:
        es = open_file(path)
        report = check_set(es)
        problem = _insane(es, report)
        api = ({"outcome": "insane", "type": "InsaneResult", "message": problem} if problem
               else {"outcome": "success", "shape": [es.count, es.dim], "format": es.format,
                     "nan_rows": int(report.scan.nan_rows)})
    except BaseException as exc:  # noqa: BLE001
        api = _classify(exc)
    if ignored and _RANK[api["outcome"]] < _RANK["traceback"]:
        after, first = api["outcome"], ignored[0]
        api = _failure("traceback", first.exc_value)
        api["type"] = f"{type(first.exc_value).__name__} (printed as 'Exception ignored')"
        api["message"] = f"then {after}: " + api["message"]
        code = getattr(first.object, "__code__", None)  # the callback it escaped from
        if api["site"] is None and code is not None and _ours(code.co_filename):
            api["site"] = f"{_short(code.co_filename)}:{code.co_firstlineno} in {code.co_name}"
    sys.unraisablehook = sys.__unraisablehook__
    result = {"outcome": api["outcome"], "api": api}
    if with_cli:
        result["cli"] = _cli_in_process(path)
        result["outcome"] = worst(api["outcome"], result["cli"]["outcome"])
        result["mismatch"] = api["outcome"] != result["cli"]["outcome"]
    return result


def _cli_in_process(path: str) -> dict:
    from explorer import cli

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.run(["inspect", "--json", path])
    except BaseException as exc:  # noqa: BLE001
        return _classify(exc)
    text = err.getvalue()
    if code == 0:
        try:
            json.loads(out.getvalue())
        except ValueError:
            return {"outcome": "insane", "type": "InsaneResult",
                    "message": "inspect --json printed no JSON: " + out.getvalue()[:300]}
        return {"outcome": "success"}
    if code == 2 and text.startswith("error: ") and "Traceback" not in text:
        if "not enough memory" in text:
            return {"outcome": "memory", "type": "MemoryError (reported)", "message": text[:1000]}
        return {"outcome": "clean", "message": text.strip()[:1000]}
    return {"outcome": "traceback", "type": f"exit {code}", "message": text[-1000:]}


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        _serve()
    else:
        sys.exit("usage: fuzz_files_harness.py --serve (started by FuzzServer)")
