"""Binary array files: .npy (memory-mapped), .npz, .fvecs/.bvecs/.ivecs, HDF5."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from tokenize import TokenError
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders.base import Loaded, LoadOptions, check_array_fits

if TYPE_CHECKING:
    import h5py  # imported lazily: it is slow to import and only HDF5 files need it

VECTOR_NAMES = ("embeddings", "embedding", "vectors", "vector", "train", "x", "X", "data", "arr_0")


# --- .npy / .npz -----------------------------------------------------------------

def load_npy(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    shape, dtype, offset = _npy_header(path)
    if dtype.hasobject:
        raise InputError("holds Python objects (a pickled object array), not numbers; "
                         "save it with a numeric dtype such as float32", path=path)
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


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset, read without touching the data."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(fh)
            return shape, dtype, fh.tell()
    except (ValueError, OSError, SyntaxError, TokenError) as exc:
        if str(exc).startswith("EOF"):
            raise InputError("file ends inside the .npy header (truncated file?)",
                             path=path) from None
        raise InputError(f"not a valid .npy file: damaged header ({exc})", path=path) from None


def sniff_npy(head: bytes, path: Path) -> bool:
    return head[:6] == b"\x93NUMPY"


_COLUMN_KINDS = "biufUS"  # 1-D arrays of these become metadata columns (Arrow has no complex)
# What a damaged zip raises, when opened and when a member is read (and CRC-checked).
_BAD_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)


def load_npz(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, *_BAD_ZIP) as exc:
        raise InputError(f"not a valid .npz file ({exc})", path=path) from None
    with archive:
        try:
            info = _npz_headers(path)
        except ValueError as exc:
            if "pickle" in str(exc):
                raise InputError("holds Python objects; only numeric arrays can be read",
                                 path=path) from None
            raise InputError(f"not a valid .npz file ({exc})", path=path) from None
        except _BAD_ZIP as exc:
            raise InputError(f"damaged .npz file ({exc})", path=path) from None
        name = opts.dataset or opts.vector_column or _pick(
            [n for n, (shape, _) in info.items() if len(shape) == 2], path, "2-D array")
        if name not in info:
            raise InputError(f"no array named {name!r}", path=path,
                             hint="arrays: " + ", ".join(info))
        check_array_fits(path, info[name][0], max(4, info[name][1].itemsize))
        vectors = _as_matrix(archive[name], path)
        n = vectors.shape[0]
        meta = {k: archive[k] for k, (shape, dtype) in info.items()
                if k != name and shape == (n,) and dtype.kind in _COLUMN_KINDS}
    state.progress(1)
    table = pa.table({k: pa.array(v) for k, v in meta.items()}) if meta else None
    notes = [f"metadata from arrays {', '.join(meta)}"] if meta else []
    return Loaded(vectors, table, vector_column=name, notes=notes)


def _npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each .npy member, read from its header without decompressing it all.

    Other files in the zip are ignored; object arrays raise ValueError as np.load does.
    """
    out = {}
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            if not member.endswith(".npy"):
                continue
            with zf.open(member) as fh:
                version = np.lib.format.read_magic(fh)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _fortran, dtype = read(fh)
            if dtype.hasobject:
                raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
            out[member[:-4]] = (shape, dtype)
    return out


def sniff_npz(head: bytes, path: Path) -> bool:
    return head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06"


def _pick(candidates: list[str], path: Path, what: str) -> str:
    if not candidates:
        raise InputError(f"no {what} found", path=path)
    if len(candidates) == 1:
        return candidates[0]
    for name in VECTOR_NAMES:
        if name in candidates:
            return name
    raise InputError(f"several {what}s: " + ", ".join(candidates), path=path,
                     hint="choose one with --dataset NAME", choices=tuple(candidates),
                     option="dataset")


def _as_matrix(arr: np.ndarray, path: Path) -> np.ndarray:
    _check_matrix(arr.shape, arr.dtype, path)
    return arr


def _check_matrix(shape: tuple[int, ...], dtype: np.dtype, path: Path) -> None:
    if dtype.kind not in "fiub":
        raise InputError(f"holds {dtype} values, not numbers", path=path)
    if len(shape) != 2:
        raise InputError(f"array has shape {shape}; expected 2-D (items x dimensions)",
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


# --- HDF5 --------------------------------------------------------------------------

_H5_METRIC = {"angular": "cosine", "cosine": "cosine", "euclidean": "l2", "l2": "l2",
              "dot": "dot", "ip": "dot", "inner_product": "dot"}


def load_hdf5(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    import h5py

    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"not a readable HDF5 file ({exc})", path=path) from None
    # A damaged file fails while walking or reading, as RuntimeError, KeyError or OSError.
    try:
        with fh:
            return _read_hdf5(fh, path, opts, state)
    except (RuntimeError, KeyError, OSError, ValueError) as exc:
        raise InputError(f"damaged HDF5 file ({exc})", path=path) from None


def _read_hdf5(fh: h5py.File, path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    import h5py

    found: dict[str, tuple] = {}
    fh.visititems(lambda name, obj: found.__setitem__(name, obj.shape)
                  if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "fiu" else None)
    name = opts.dataset or _pick([n for n, s in found.items() if len(s) == 2],
                                 path, "2-D numeric dataset")
    ds = fh.get(name)
    if not isinstance(ds, h5py.Dataset):
        what = "a group, not a dataset" if ds is not None else "not in the file"
        raise InputError(f"{name!r} is {what}", path=path, hint="datasets: " + ", ".join(found))
    if ds.ndim != 2 or ds.dtype.kind not in "fiu":
        raise InputError(f"dataset {name!r} has shape {ds.shape} and type {ds.dtype}; "
                         "expected a 2-D numeric array", path=path)
    check_array_fits(path, ds.shape)
    out = np.empty(ds.shape, dtype=np.float32)
    step = max(1, (32 << 20) // max(1, ds.shape[1] * 4))
    for start in range(0, ds.shape[0], step):
        out[start:start + step] = ds[start:start + step]
        state.progress(min(ds.shape[0], start + step), ds.shape[0])
    distance = fh.attrs.get("distance")
    if isinstance(distance, bytes):
        distance = distance.decode()
    metric = _H5_METRIC.get(str(distance).lower()) if distance is not None else None
    others = [n for n in found if n != name]
    notes = [f"vectors from dataset {name!r}"]
    if others:
        notes.append("other datasets not loaded: " + ", ".join(others))
    return Loaded(out, vector_column=name, metric=metric, notes=notes)


def sniff_hdf5(head: bytes, path: Path) -> bool:
    return head[:8] == b"\x89HDF\r\n\x1a\n"
