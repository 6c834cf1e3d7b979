"""Read a .safetensors file: one 2-D tensor as the vectors, 1-D tensors of its length as metadata.

The layout (huggingface/safetensors): 8 bytes, a little-endian u64 N; N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}; then
the data, each tensor's bytes at 8 + N + begin, little-endian, C order. Tensors are
memory-mapped straight from the file (a file larger than RAM opens in milliseconds), except
bfloat16, which numpy lacks and which is widened to float32 in memory.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer.plugins.api import InputError, Loaded, LoadOptions, TaskState, check_array_fits

MAX_HEADER = 100_000_000  # the reference implementation's limit
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
          "BOOL": "?"}
VECTOR_NAMES = ("embeddings", "embedding", "vectors", "vector", "emb")
_SHOWN = 12  # tensor names listed in a message


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str  # the safetensors name: F32, BF16, ...
    shape: tuple[int, ...]
    offset: int  # in the file


def sniff(head: bytes, path: Path) -> bool:
    if len(head) < 10:
        return False
    size = int.from_bytes(head[:8], "little")
    return 2 <= size <= MAX_HEADER and head[8:9] == b"{"


def load(path: Path, options: LoadOptions, state: TaskState) -> Loaded:
    tensors, metadata = read_header(path)
    name = options.dataset or options.vector_column or _pick(tensors, path)
    if name not in tensors:
        raise InputError(f"no tensor named {name!r}", path=path,
                         hint="tensors: " + _names(list(tensors)))
    chosen = tensors[name]
    if len(chosen.shape) != 2:
        raise InputError(f"tensor {name!r} has shape {list(chosen.shape)}; a 2-D tensor "
                         "(items x dimensions) is needed", path=path)
    if chosen.dtype == "BOOL":
        raise InputError(f"tensor {name!r} holds booleans, not numbers", path=path)
    vectors = _array(path, chosen)
    state.progress(0.5)
    n = chosen.shape[0]
    columns = {t.name: _array(path, t) for t in tensors.values()
               if t.name != name and t.shape == (n,)}
    state.progress(1)
    table = pa.table({k: pa.array(np.asarray(v)) for k, v in columns.items()}) if columns else None
    notes = [f"vectors from tensor {name!r} ({chosen.dtype})"]
    if columns:
        notes.append("metadata from tensors " + ", ".join(columns))
    if metadata:
        notes.append("safetensors metadata: "
                     + ", ".join(f"{k}={v}" for k, v in sorted(metadata.items()))[:300])
    return Loaded(vectors, table, vector_column=name, notes=notes)


def read_header(path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """The tensors (checked against the file's size) and the free-form metadata."""
    file_size = path.stat().st_size
    with open(path, "rb") as fh:
        prefix = fh.read(8)
        size = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if not 2 <= size <= min(MAX_HEADER, file_size - 8):
            raise InputError("not a valid safetensors file: its header length "
                             f"({size} bytes) does not fit the file (truncated?)", path=path)
        raw = fh.read(size)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a valid safetensors file: damaged header ({exc})",
                         path=path) from None
    if not isinstance(header, dict):
        raise InputError("not a valid safetensors file: the header is not a JSON object",
                         path=path)
    metadata = header.pop("__metadata__", None) or {}
    start = 8 + size
    tensors = {name: _tensor(name, info, start, file_size, path) for name, info in header.items()}
    if not tensors:
        raise InputError("the file holds no tensors", path=path)
    return tensors, metadata if isinstance(metadata, dict) else {}


def _tensor(name: str, info, start: int, file_size: int, path: Path) -> Tensor:
    try:
        dtype, shape = info["dtype"], tuple(int(s) for s in info["shape"])
        begin, end = (int(o) for o in info["data_offsets"])
    except (TypeError, KeyError, ValueError):
        raise InputError(f"tensor {name!r}: damaged header entry {str(info)[:120]}",
                         path=path) from None
    if dtype not in DTYPES:
        raise InputError(f"tensor {name!r} has dtype {dtype}, which cannot be read here",
                         path=path, hint="readable: " + ", ".join(DTYPES))
    want = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
    if min(shape, default=0) < 0 or not 0 <= begin <= end or end - begin != want:
        raise InputError(f"tensor {name!r}: shape {list(shape)} of {dtype} needs {want} bytes, "
                         f"the header gives bytes {begin}..{end}", path=path)
    if start + end > file_size:
        raise InputError(f"tensor {name!r} ends past the end of the file (truncated file?)",
                         path=path)
    return Tensor(name, dtype, shape, start + begin)


def _array(path: Path, t: Tensor) -> np.ndarray:
    """The tensor memory-mapped (bfloat16: widened to float32 in memory)."""
    if math.prod(t.shape) == 0:
        return np.zeros(t.shape, dtype=np.float32)
    raw = np.memmap(path, dtype=DTYPES[t.dtype], mode="r", offset=t.offset, shape=t.shape)
    if t.dtype != "BF16":
        return raw
    check_array_fits(path, t.shape)
    out = np.empty(t.shape, dtype=np.float32)
    flat_in, flat_out = raw.reshape(-1), out.reshape(-1).view(np.uint32)
    step = 1 << 22
    for lo in range(0, flat_in.size, step):
        flat_out[lo:lo + step] = flat_in[lo:lo + step].astype(np.uint32) << 16
    return out


def _pick(tensors: dict[str, Tensor], path: Path) -> str:
    candidates = [t.name for t in tensors.values() if len(t.shape) == 2 and t.dtype != "BOOL"]
    if not candidates:
        raise InputError("no 2-D tensor found", path=path,
                         hint="tensors: " + _names(list(tensors)))
    if len(candidates) == 1:
        return candidates[0]
    by_name = [c for c in candidates if c.lower().rsplit(".", 1)[-1] in VECTOR_NAMES]
    if len(by_name) == 1:
        return by_name[0]
    raise InputError(f"several 2-D tensors: {_names(candidates)}", path=path,
                     hint="choose one with --dataset NAME", choices=tuple(candidates),
                     option="dataset")


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
