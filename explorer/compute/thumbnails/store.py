"""The thumbnail cache of one image source: one file in the set's artefacts, memory-mapped.

The file is an index of `count` fixed-size records (INDEX: where each row's JPEG starts, its
length, its status, and what its source was when it was made), then the JPEGs end to end. It
is written whole through `ArtifactStore.save_file` (temporary file, fsync, rename, checksum in
the record), so a reader sees a complete cache or none, and a damaged one is deleted, never
used. Opening maps the file and reads nothing else: a row's thumbnail is one slice of the map,
safe from any thread. The per-row source stamps let a later build keep every row whose
source is unchanged, and make only the rest; a row without a thumbnail keeps why (a number
into the record's list of reasons).
"""

from __future__ import annotations

import mmap
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from explorer.compute.thumbnails.source import ImageSource
from explorer.core.artifacts import ArtifactStore

KIND = "thumbnails"
SUFFIX = "thumbs"
FORMAT = 1
INDEX = np.dtype([("start", "<u8"), ("length", "<u4"), ("status", "u1"), ("origin", "u1"),
                  ("reason", "<u2"), ("key", "<u8"), ("size", "<i8"), ("mtime", "<i8")])
MAX_REASONS = 1000  # distinct reasons kept in the record (`reason` n is meta["reasons"][n - 1])
# status codes in the index; "outside" reads as "missing" (the contract's five statuses)
PENDING, OK, MISSING, BROKEN, URL, OUTSIDE = range(6)
STATUS = {PENDING: "pending", OK: "ok", MISSING: "missing", BROKEN: "broken", URL: "url",
          OUTSIDE: "missing"}
CODES = {"missing": MISSING, "broken": BROKEN, "url": URL, "outside": OUTSIDE}
# where a row's image came from: nothing (null, url), a file (size + mtime), bytes in the table
NO_ORIGIN, FROM_FILE, FROM_BYTES = range(3)


def empty_index(count: int) -> np.ndarray:
    return np.zeros(count, dtype=INDEX)  # every row pending


def status_counts(status: np.ndarray) -> dict[str, int]:
    """Rows per contract status ("outside" counted as missing)."""
    tally = np.bincount(np.asarray(status, dtype=np.int64), minlength=len(STATUS))
    out = {name: 0 for name in ("ok", "missing", "broken", "url", "pending")}
    for code, n in enumerate(tally[:len(STATUS)]):
        out[STATUS[code]] += int(n)
    return out


@dataclass
class ThumbnailStore:
    """Read-only view of a finished (or partly made) cache; cheap to open, any thread may read."""

    size: int
    count: int
    meta: dict
    index: np.ndarray
    blob: np.ndarray  # uint8 view of the JPEGs
    path: Path

    def get(self, row: int) -> bytes | None:
        """The row's JPEG bytes; None when it has none (missing, broken, url, pending)."""
        if not 0 <= row < self.count:
            raise IndexError(f"row {row} is not in 0..{self.count - 1}")
        rec = self.index[row]
        if rec["status"] != OK:
            return None
        start, stop = int(rec["start"]), int(rec["start"]) + int(rec["length"])
        if stop > self.blob.size:  # the checksum makes this impossible; never trust it blindly
            return None
        return self.blob[start:stop].tobytes()

    def status(self, row: int) -> str:
        if not 0 <= row < self.count:
            raise IndexError(f"row {row} is not in 0..{self.count - 1}")
        return STATUS.get(int(self.index[row]["status"]), "broken")

    def reason(self, row: int) -> str | None:
        """Why the row has no thumbnail, in a few words (None when it has one, or is pending)."""
        status = self.status(row)
        if status in ("ok", "pending"):
            return None
        code, reasons = int(self.index[row]["reason"]), self.meta.get("reasons") or []
        if 1 <= code <= len(reasons) and isinstance(reasons[code - 1], str):
            return reasons[code - 1]
        return {"url": "a URL (never fetched)"}.get(status, status)

    def counts(self) -> dict[str, int]:
        return status_counts(self.index["status"])

    @property
    def source(self) -> ImageSource:
        """What the thumbnails were made from (the root resolved): where the originals are."""
        return ImageSource(str(self.meta.get("column", "")), str(self.meta.get("kind", "")),
                           self.meta.get("root"))

    @property
    def bytes(self) -> int:
        return int(self.index.nbytes + self.blob.size)


def open_store(artifacts: ArtifactStore, key: str) -> ThumbnailStore | None:
    """The cache stored under `key`, or None when absent, damaged or not of this format."""
    found = artifacts.load_file(KIND, key)
    if found is None:
        return None
    path, meta = found
    try:
        count, size, blob_bytes = int(meta["count"]), int(meta["size"]), int(meta["blob_bytes"])
        if meta.get("format") != FORMAT or count < 0 or blob_bytes < 0:
            return None
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size != count * INDEX.itemsize + blob_bytes:
                return None
            mapped = np.frombuffer(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                                   if count or blob_bytes else b"", dtype=np.uint8)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    split = count * INDEX.itemsize
    index = mapped[:split].view(INDEX)
    return ThumbnailStore(size=size, count=count, meta=meta, index=index, blob=mapped[split:],
                          path=path)


def save_store(artifacts: ArtifactStore, key: str, index: np.ndarray, blobs: BinaryIO,
               meta: dict) -> Path:
    """Write the index and the JPEGs gathered in `blobs` (offsets in the index are into it)."""
    blobs.flush()
    blob_bytes = os.fstat(blobs.fileno()).st_size
    meta = dict(meta, format=FORMAT, count=int(index.size), blob_bytes=int(blob_bytes))
    return artifacts.save_file(KIND, key, SUFFIX, _writer(index, blobs), meta)


def _writer(index: np.ndarray, blobs: BinaryIO) -> Callable[[str], None]:
    def write(path: str) -> None:
        with open(path, "wb") as fh:
            fh.write(np.ascontiguousarray(index, dtype=INDEX).tobytes())
            blobs.seek(0)
            shutil.copyfileobj(blobs, fh, 1 << 20)
            blobs.seek(0, os.SEEK_END)
            fh.flush()
    return write
