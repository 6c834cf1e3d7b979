"""Binary array files: .npy (memory-mapped), .npz, .fvecs/.bvecs/.ivecs.

Every header is checked against the bytes behind it before anything is allocated, so a
damaged or hostile header fails with a message instead of asking for gigabytes.
"""

from __future__ import annotations

import ast
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from tokenize import TokenError
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders.base import Loaded, LoadOptions, check_array_fits, check_declared, pick

# --- .npy / .npz -----------------------------------------------------------------

# What numpy's read_array raises on a damaged .npz member: data shorter than declared, or a
# header it parses differently from _npy_header (its Python 2 filter tokenizes).
_BAD_HEADER = (ValueError, SyntaxError, TokenError, TypeError)
# Bytes of the header-length field, by format version.
_NPY_LENGTH_FIELD = {(1, 0): 2, (2, 0): 4, (3, 0): 4}
_NPY_MAX_HEADER = 10_000  # numpy's own cap on a header it will parse (max_header_size)
_NPY_KEYS = {"descr", "fortran_order", "shape"}


def load_npy(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    with open(path, "rb") as fh:
        shape, dtype = _npy_header(fh, path)
        offset = fh.tell()
    _check_matrix(shape, dtype, path)
    # np.load only says "mmap length is greater than file size"; say which row is cut.
    row_bytes = shape[1] * dtype.itemsize
    have = path.stat().st_size - offset
    if row_bytes and have < shape[0] * row_bytes:
        row = have // row_bytes
        raise InputError(f"file ends inside row {row} of {shape[0]} (truncated file?)",
                         path=path, row=row)
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"not a valid .npy file ({exc})", path=path) from None
    state.progress(1)
    return Loaded(arr)


class _BadNpy(Exception):
    """What is wrong with a .npy header."""


class _NpyCut(_BadNpy):
    """The file ends inside the header."""


def _npy_header(fh: BinaryIO, path: Path,
                member: str | None = None) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype, read without touching the data; the file is left at the data.

    Read and checked here rather than by numpy, which reads as many bytes as the length
    field says before looking at them (a damaged one asks for gigabytes); numpy sees the
    header only once it is known to be sound.
    """
    where = f"array {member!r}: " if member else ""
    try:
        return _parse_npy_header(fh)
    except _NpyCut:
        raise InputError(f"{where}file ends inside the .npy header (truncated file?)",
                         path=path) from None
    except _BadNpy as exc:
        raise InputError(f"{where}not a valid .npy file: damaged header ({exc})",
                         path=path) from None


def _parse_npy_header(fh: BinaryIO) -> tuple[tuple[int, ...], np.dtype]:
    prefix = _read_exactly(fh, 8)
    if prefix[:6] != b"\x93NUMPY":
        raise _BadNpy(f"the magic string is {prefix[:6]!r}, not b'\\x93NUMPY'")
    version = (prefix[6], prefix[7])
    if version not in _NPY_LENGTH_FIELD:
        raise _BadNpy(f"format version {version[0]}.{version[1]} is not one numpy writes")
    length = int.from_bytes(_read_exactly(fh, _NPY_LENGTH_FIELD[version]), "little")
    if length > _NPY_MAX_HEADER:
        raise _BadNpy(f"it declares {length} bytes; numpy reads at most {_NPY_MAX_HEADER}")
    raw = _read_exactly(fh, length)
    try:
        text = raw.decode("utf-8" if version == (3, 0) else "latin-1")
        fields = _literal(text, legacy=version < (3, 0))
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        # a short text nested deeply makes the parser raise RecursionError or MemoryError
        raise _BadNpy("it is not a Python literal") from None
    if not isinstance(fields, dict) or fields.keys() != _NPY_KEYS:
        raise _BadNpy(f"not a dict of {', '.join(sorted(_NPY_KEYS))}")
    shape = fields["shape"]
    if not isinstance(shape, tuple) or not all(type(n) is int for n in shape):
        raise _BadNpy(f"shape {shape!r} is not a tuple of integers")
    if not isinstance(fields["fortran_order"], bool):
        raise _BadNpy(f"fortran_order {fields['fortran_order']!r} is not True or False")
    try:
        dtype = np.lib.format.descr_to_dtype(fields["descr"])
    except (ValueError, TypeError) as exc:
        raise _BadNpy(f"descr {fields['descr']!r} is not a dtype ({exc})") from None
    return shape, dtype


def _literal(text: str, legacy: bool) -> object:
    """The header's dict; Python 2 wrote long integers as 3L, which numpy still reads."""
    try:
        return ast.literal_eval(text)
    except SyntaxError:
        if not legacy:
            raise
        return ast.literal_eval(re.sub(r"\b(\d+)L\b", r"\1", text))


def _read_exactly(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if len(data) < n:
        raise _NpyCut
    return data


def sniff_npy(head: bytes, path: Path) -> bool:
    return head[:6] == b"\x93NUMPY"


_COLUMN_KINDS = "biufUS"  # 1-D arrays of these become metadata columns (Arrow has no complex)
# What a damaged zip raises, when opened and when a member is read (and CRC-checked);
# RuntimeError: an encrypted member.
_BAD_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)
# Uncompressed bytes one stored byte can give: deflate never exceeds 1032:1.
_ZIP_RATIO = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1100}


@dataclass(frozen=True)
class _Member:
    """One .npy inside an .npz, from its header."""

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    header: int  # bytes before the data


def load_npz(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    try:
        archive = zipfile.ZipFile(path)
    except _BAD_ZIP as exc:
        raise InputError(f"not a valid .npz file ({exc})", path=path) from None
    with archive:
        members = _npz_members(archive, path)
        name = opts.dataset or opts.vector_column or pick(
            [n for n, m in members.items() if len(m.shape) == 2], path, "2-D array")
        if name not in members:
            raise InputError(f"no array named {name!r}", path=path,
                             hint="arrays: " + ", ".join(members))
        _check_matrix(members[name].shape, members[name].dtype, path, f"array {name!r}")
        vectors = _read_member(archive, name, members[name], path)
        n = vectors.shape[0]
        meta = {k: _read_member(archive, k, m, path) for k, m in members.items()
                if k != name and m.shape == (n,) and m.dtype.kind in _COLUMN_KINDS}
    state.progress(1)
    table = pa.table({k: _metadata_column(k, v, path) for k, v in meta.items()}) if meta else None
    notes = [f"metadata from arrays {', '.join(meta)}"] if meta else []
    return Loaded(vectors, table, vector_column=name, notes=notes)


def _metadata_column(name: str, values: np.ndarray, path: Path) -> pa.Array:
    """A 1-D array as a metadata column; a damaged text (<U) array may hold numbers that
    are no Unicode character, which Arrow cannot decode."""
    try:
        return pa.array(values)
    except UnicodeDecodeError:
        codes = values.view(np.dtype("u4").newbyteorder(values.dtype.byteorder))
        codes = codes.reshape(len(values), -1)
        bad = ((codes > 0x10FFFF) | ((codes >= 0xD800) & (codes < 0xE000))).any(axis=1)
        row = int(np.argmax(bad))
        raise InputError(f"array {name!r} holds text that is not Unicode (a damaged file?)",
                         path=path, row=row) from None


def _npz_members(archive: zipfile.ZipFile, path: Path) -> dict[str, _Member]:
    """Each .npy member's header, read without decompressing the data; other files are ignored.

    Object arrays are refused here, as np.load(allow_pickle=False) would.
    """
    out = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        name = info.filename[:-4]
        try:
            with archive.open(info) as fh:
                shape, dtype = _npy_header(fh, path, name)
                header = fh.tell()
        except _BAD_ZIP as exc:
            raise InputError(f"damaged .npz file: array {name!r} cannot be read ({exc})",
                             path=path) from None
        if dtype.hasobject:
            raise InputError(f"array {name!r} holds Python objects; only numeric arrays can be "
                             "read", path=path)
        out[name] = _Member(info, shape, dtype, header)
    return out


def _read_member(archive: zipfile.ZipFile, name: str, member: _Member, path: Path) -> np.ndarray:
    """The array, once its declared size fits in the bytes the archive holds for it."""
    info = member.info
    what = f"array {name!r}"
    if info.compress_size > path.stat().st_size:
        raise InputError(f"damaged .npz file: {what} claims {info.compress_size} bytes in a file "
                         f"of {path.stat().st_size}", path=path)
    check_declared(path, member.shape, member.dtype.itemsize, info.file_size - member.header,
                   what)
    ratio = _ZIP_RATIO.get(info.compress_type)
    if ratio is not None:
        check_declared(path, member.shape, member.dtype.itemsize, info.compress_size, what, ratio)
    check_array_fits(path, member.shape, max(4, member.dtype.itemsize))
    try:
        with archive.open(info) as fh:
            return np.lib.format.read_array(fh, allow_pickle=False)
    except (*_BAD_HEADER, *_BAD_ZIP) as exc:
        raise InputError(f"damaged .npz file: {what} cannot be read ({exc})",
                         path=path) from None


def sniff_npz(head: bytes, path: Path) -> bool:
    return head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06"


def _check_matrix(shape: tuple[int, ...], dtype: np.dtype, path: Path,
                  what: str = "the header") -> None:
    if dtype.hasobject:
        raise InputError("holds Python objects (a pickled object array), not numbers; "
                         "save it with a numeric dtype such as float32", path=path)
    if dtype.kind not in "fiub":
        raise InputError(f"holds {dtype} values, not numbers", path=path)
    if len(shape) != 2:
        raise InputError(f"array has shape {shape}; expected 2-D (items x dimensions)",
                         path=path)
    if min(shape) < 0:
        raise InputError(f"{what} declares a negative size {shape}; the file is damaged",
                         path=path)


# --- .fvecs / .bvecs / .ivecs (the TEXMEX / ann-benchmarks layout) ----------------

_VECS = {".fvecs": (np.float32, 4), ".ivecs": (np.int32, 4), ".bvecs": (np.uint8, 1)}


def load_vecs(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    dtype, item = _VECS[path.suffix.lower()]
    size = path.stat().st_size
    if size < 4:
        raise InputError("file is too short to hold a vector", path=path)
    d = int(np.fromfile(path, dtype="<i4", count=1)[0])
    if d < 0 or d > 1 << 20:
        raise InputError(f"first vector claims dimension {d}; not a {path.suffix} file", path=path)
    record = 4 + d * item
    n, rest = divmod(size, record)
    if rest:
        raise InputError(f"file ends inside vector {n}: {rest} bytes of a {record}-byte record "
                         "(truncated file?)", path=path, row=n)
    raw = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, record))
    dims = raw[:, :4].copy().view("<i4").ravel()
    bad = np.flatnonzero(dims != d)
    if bad.size:
        raise InputError(f"vector says dimension {dims[bad[0]]}, the first says {d}",
                         path=path, row=int(bad[0]))
    vectors = raw[:, 4:].view(dtype) if item == 4 else raw[:, 4:]
    state.progress(1)
    return Loaded(vectors)


def sniff_vecs(head: bytes, path: Path) -> bool:
    # dimension 0 is plausible here so that open_file can say what is wrong with it
    return len(head) >= 4 and 0 <= int.from_bytes(head[:4], "little") < 1 << 20

