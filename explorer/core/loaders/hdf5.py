"""HDF5 files (the ann-benchmarks layout understood): only data stored inside the file is read.

HDF5 lets a dataset live elsewhere: external storage (raw bytes of any file, /etc/passwd
included), virtual datasets (slices of other HDF5 files) and external links. Reading
any of them would import bytes the user never chose, so they are refused by name. A
header may also declare any shape; it is checked against the bytes the dataset really
stores before anything is allocated.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders.base import Loaded, LoadOptions, check_array_fits, check_declared, pick

if TYPE_CHECKING:
    import h5py  # imported lazily: it is slow to import and only HDF5 files need it

_METRIC = {"angular": "cosine", "cosine": "cosine", "euclidean": "l2", "l2": "l2",
           "dot": "dot", "ip": "dot", "inner_product": "dot"}
# No HDF5 filter packs data tighter than deflate's 1032:1; a dataset claiming more is damaged.
_MAX_RATIO = 1100
_NUMERIC_KINDS = ("f", "i", "u")
_MAX_LINK_HOPS = 16  # HDF5's own default limit on soft links followed in one path
_MAX_ATTRIBUTE = 1024  # bytes of the "distance" attribute worth reading
# What h5py raises on a damaged file, while walking it or reading it.
_H5_ERRORS = (RuntimeError, KeyError, OSError, ValueError, TypeError)


def load_hdf5(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    import h5py

    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"not a readable HDF5 file ({exc})", path=path) from None
    try:
        with fh:
            return _read(fh, path, opts, state)
    except _H5_ERRORS as exc:
        raise InputError(f"damaged HDF5 file ({exc})", path=path) from None


def sniff_hdf5(head: bytes, path: Path) -> bool:
    return head[:8] == b"\x89HDF\r\n\x1a\n"


def _read(fh: h5py.File, path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    found, external = _walk(fh)
    candidates = [n for n, s in found.items() if len(s) == 2]
    if opts.dataset:
        name = opts.dataset.strip("/") or "/"
    elif candidates or not external:
        name = pick(candidates, path, "2-D numeric dataset")
    else:
        raise InputError("no 2-D numeric dataset stored in this file; external links are not "
                         "followed: " + ", ".join(external), path=path)
    ds = _resolve(fh, name, path, found)
    _check_storage(ds, name, path)
    out = np.empty(ds.shape, dtype=np.float32)
    step = max(1, (32 << 20) // max(1, ds.shape[1] * 4))
    for start in range(0, ds.shape[0], step):
        out[start:start + step] = ds[start:start + step]
        state.progress(min(ds.shape[0], start + step), ds.shape[0])
    others = [n for n in found if n != name]
    notes = [f"vectors from dataset {name!r}"]
    if others:
        notes.append("other datasets not loaded: " + ", ".join(others))
    if external:
        notes.append("external links not followed: " + ", ".join(external))
    return Loaded(out, vector_column=name, metric=_metric(fh), notes=notes)


def _walk(fh: h5py.File) -> tuple[dict[str, tuple[int, ...]], list[str]]:
    """Numeric datasets reachable inside the file (name -> shape), and external links seen.

    Only hard links are followed, so the walk never leaves the file and meets each object once.
    """
    import h5py

    found: dict[str, tuple[int, ...]] = {}
    external: list[str] = []

    def visit(raw: bytes, info: h5py.h5l.LinkInfo) -> None:
        name = raw.decode("utf-8", errors="replace")
        if info.type == h5py.h5l.TYPE_EXTERNAL:
            external.append(name)
        elif info.type == h5py.h5l.TYPE_HARD:
            obj = fh.get(name)
            if isinstance(obj, h5py.Dataset) and obj.shape is not None \
                    and _kind(obj) in _NUMERIC_KINDS:
                found[name] = obj.shape

    fh.id.links.visit(visit, info=True)
    return found, external


def _kind(ds: h5py.Dataset) -> str:
    """The dataset's numpy kind; "" for HDF5 types numpy has no equivalent for (bitfields...)."""
    try:
        return ds.dtype.kind
    except TypeError:
        return ""


def _resolve(fh: h5py.File, name: str, path: Path, found: dict) -> h5py.Dataset:
    """The dataset at `name`, following soft links inside the file and refusing external ones."""
    import h5py

    node = fh
    parts = _parts(name)
    hops = 0
    while parts:
        part = parts.pop(0)
        if not isinstance(node, h5py.Group):
            raise InputError(f"{name!r}: {node.name!r} is a dataset, not a group", path=path,
                             hint="datasets: " + (", ".join(found) or "none"))
        link = node.get(part, getlink=True)
        if link is None:
            raise InputError(f"{name!r} is not in the file", path=path,
                             hint="datasets: " + (", ".join(found) or "none"))
        if isinstance(link, h5py.ExternalLink):
            raise InputError(f"{name!r} is an external link to {link.path!r} in "
                             f"{link.filename}; only data stored in this file is read", path=path)
        if isinstance(link, h5py.SoftLink):
            hops += 1
            if hops > _MAX_LINK_HOPS:
                raise InputError(f"{name!r} goes through more than {_MAX_LINK_HOPS} soft links "
                                 "(a loop?)", path=path)
            target = _parts(link.path)
            if link.path.startswith("/"):
                node = fh
            parts = target + parts
            continue
        node = node[part]
    if not isinstance(node, h5py.Dataset):
        raise InputError(f"{name!r} is a group, not a dataset", path=path,
                         hint="datasets: " + (", ".join(found) or "none"))
    if node.shape is None or node.ndim != 2 or _kind(node) not in _NUMERIC_KINDS:
        kind = node.dtype if _kind(node) else "a type NumPy cannot hold"
        shape = "no shape (an empty dataset)" if node.shape is None else f"shape {node.shape}"
        raise InputError(f"dataset {name!r} has {shape} and type {kind}; "
                         "expected a 2-D numeric array", path=path)
    return node


def _parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def _check_storage(ds: h5py.Dataset, name: str, path: Path) -> None:
    """Refuse data kept outside the file, and shapes the stored bytes cannot hold."""
    if ds.is_virtual:
        sources = sorted({s.file_name for s in ds.virtual_sources()})
        raise InputError(f"dataset {name!r} is a virtual dataset whose data lives in other "
                         f"files ({', '.join(sources)}); only data stored in this file is read",
                         path=path)
    if ds.external:
        files = sorted({str(f) for f, *_ in ds.external})
        raise InputError(f"dataset {name!r} keeps its data in external files "
                         f"({', '.join(files)}); only data stored in this file is read", path=path)
    plist = ds.id.get_create_plist()
    filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    _check_filters(filters, name, path)
    stored = ds.id.get_storage_size()
    file_size = path.stat().st_size
    what = f"dataset {name!r}"
    if stored > file_size:
        raise InputError(f"{what} claims {stored} bytes of data in a file of {file_size} bytes "
                         "(damaged file?)", path=path)
    check_declared(path, ds.shape, ds.dtype.itemsize, stored, what,
                   ratio=_MAX_RATIO if filters else 1)
    if ds.chunks and filters:
        expected = math.prod(-(-n // c) for n, c in zip(ds.shape, ds.chunks))
        if ds.id.get_num_chunks() < expected:
            raise InputError(f"{what} is missing {expected - ds.id.get_num_chunks()} of its "
                             f"{expected} chunks (never written, or a damaged file)", path=path)
    check_array_fits(path, ds.shape)


def _check_filters(filters: list[tuple], name: str, path: Path) -> None:
    import h5py

    for code, _flags, _values, label in filters:
        if not h5py.h5z.filter_avail(code):
            label = label.decode(errors="replace") if isinstance(label, bytes) else label
            which = f"{label!r} (id {code})" if label else f"with id {code}"
            raise InputError(f"dataset {name!r} is compressed with the HDF5 filter {which}, "
                             "which is not installed here",
                             path=path, hint="save it with gzip or lzf compression, or none")


def _metric(fh: h5py.File) -> str | None:
    """The ann-benchmarks 'distance' attribute, read only when it is a short scalar."""
    if "distance" not in fh.attrs:
        return None
    attr = fh.attrs.get_id("distance")
    if attr.shape != () or attr.get_storage_size() > _MAX_ATTRIBUTE:
        return None
    distance = fh.attrs["distance"]
    if isinstance(distance, bytes):
        distance = distance.decode(errors="replace")
    return _METRIC.get(str(distance).lower())
