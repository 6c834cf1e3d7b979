"""Binary array files: .npy (memory-mapped), .npz, .fvecs/.bvecs/.ivecs, HDF5."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders.base import Loaded, LoadOptions

VECTOR_NAMES = ("embeddings", "embedding", "vectors", "vector", "train", "x", "X", "data", "arr_0")


# --- .npy / .npz -----------------------------------------------------------------

def load_npy(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc) or "Object arrays" in str(exc):
            raise InputError("holds Python objects, not numbers; "
                             "save it with a numeric dtype such as float32", path=path) from None
        raise InputError(f"not a valid .npy file ({exc})", path=path) from None
    except OSError as exc:
        raise InputError(f"not a valid .npy file ({exc})", path=path) from None
    state.progress(1)
    return Loaded(_as_matrix(arr, path))


def sniff_npy(head: bytes, path: Path) -> bool:
    return head[:6] == b"\x93NUMPY"


def load_npz(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a valid .npz file ({exc})", path=path) from None
    with archive:
        names = list(archive.files)
        try:
            shapes = {n: archive[n].shape for n in names}
        except ValueError:
            raise InputError("holds Python objects; only numeric arrays can be read",
                             path=path) from None
        name = opts.dataset or opts.vector_column or _pick(
            [n for n in names if len(shapes[n]) == 2], path, "2-D array")
        if name not in names:
            raise InputError(f"no array named {name!r}", path=path, hint="arrays: " + ", ".join(names))
        vectors = _as_matrix(archive[name], path)
        n = vectors.shape[0]
        meta = {k: archive[k] for k in names if k != name and shapes[k] == (n,)}
    state.progress(1)
    table = pa.table({k: pa.array(v) for k, v in meta.items()}) if meta else None
    notes = [f"metadata from arrays {', '.join(meta)}"] if meta else []
    return Loaded(vectors, table, vector_column=name, notes=notes)


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
                     hint="choose one with --dataset NAME")


def _as_matrix(arr: np.ndarray, path: Path) -> np.ndarray:
    if arr.dtype.kind not in "fiub":
        raise InputError(f"holds {arr.dtype} values, not numbers", path=path)
    if arr.ndim != 2:
        raise InputError(f"array has shape {arr.shape}; expected 2-D (items x dimensions)",
                         path=path)
    return arr


# --- .fvecs / .bvecs / .ivecs (the TEXMEX / ann-benchmarks layout) ----------------

_VECS = {".fvecs": (np.float32, 4), ".ivecs": (np.int32, 4), ".bvecs": (np.uint8, 1)}


def load_vecs(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    dtype, item = _VECS[path.suffix.lower()]
    size = path.stat().st_size
    if size < 4:
        raise InputError("file is too short to hold a vector", path=path)
    d = int(np.fromfile(path, dtype="<i4", count=1)[0])
    if d <= 0 or d > 1 << 20:
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
    return len(head) >= 4 and 0 < int.from_bytes(head[:4], "little") < 1 << 20


# --- HDF5 --------------------------------------------------------------------------

_H5_METRIC = {"angular": "cosine", "cosine": "cosine", "euclidean": "l2", "l2": "l2",
              "dot": "dot", "ip": "dot", "inner_product": "dot"}


def load_hdf5(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    import h5py

    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"not a readable HDF5 file ({exc})", path=path) from None
    with fh:
        found: dict[str, tuple] = {}
        fh.visititems(lambda name, obj: found.__setitem__(name, obj.shape)
                      if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "fiu" else None)
        name = opts.dataset or _pick([n for n, s in found.items() if len(s) == 2],
                                     path, "2-D numeric dataset")
        if name not in fh:
            raise InputError(f"no dataset named {name!r}", path=path,
                             hint="datasets: " + ", ".join(found))
        ds = fh[name]
        if ds.ndim != 2 or ds.dtype.kind not in "fiu":
            raise InputError(f"dataset {name!r} has shape {ds.shape} and type {ds.dtype}; "
                             "expected a 2-D numeric array", path=path)
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
