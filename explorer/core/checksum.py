"""Checksums of stored data, and when a file can be trusted without hashing it again.

Hashing costs about 1.4 s per GB here (blake2b, one core), while memory-mapping
an artefact costs well under a millisecond, so a load cannot hash every time.
A file is hashed in full when it is written and whenever it is not provably
the file that was hashed; `FileStamp` is that proof: inode, size, mtime and
ctime together. Any write through the file system (an editor, `dd`, a copy
over it, a flipped byte restored to its old mtime with `touch -d`) moves ctime,
which no program can set back, so a matching stamp means the bytes have not
been changed through the file system since they were hashed. A copied library
gets new inodes and ctimes, so everything copied is hashed once more on first
load. What a stamp cannot see is a disk that corrupts data under the file
system; the set's own vectors (memory-mapped, never hashed) share that risk.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ALGORITHM = "blake2b-128"
CHUNK = 1 << 24  # 16 MiB: hashing releases the GIL per update, and memory stays flat


def _new(algorithm: str):
    if algorithm != ALGORITHM:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}")
    return hashlib.blake2b(digest_size=16)


@dataclass(frozen=True)
class Checksum:
    """A digest of some bytes, stored as JSON beside them."""

    digest: str
    bytes: int
    algorithm: str = ALGORITHM

    @classmethod
    def of_array(cls, array: np.ndarray, algorithm: str = ALGORITHM) -> Checksum:
        """The digest of the array's bytes in C order (what `save` writes after the header)."""
        flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        h = _new(algorithm)
        for start in range(0, flat.size, CHUNK):
            h.update(flat[start:start + CHUNK])
        return cls(h.hexdigest(), int(flat.size), algorithm)

    @classmethod
    def of_file(cls, path: Path, algorithm: str = ALGORITHM) -> Checksum:
        h = _new(algorithm)
        size = 0
        with open(path, "rb") as fh:
            while block := fh.read(CHUNK):
                h.update(block)
                size += len(block)
        return cls(h.hexdigest(), size, algorithm)

    @classmethod
    def from_dict(cls, data: object) -> Checksum:
        """Strict: ValueError unless `data` is what `to_dict` wrote."""
        if not isinstance(data, dict):
            raise ValueError("checksum is not an object")
        digest, size, algorithm = data.get("digest"), data.get("bytes"), data.get("algorithm")
        if not (isinstance(digest, str) and isinstance(algorithm, str)
                and isinstance(size, int) and not isinstance(size, bool)):
            raise ValueError("checksum fields have the wrong types")
        _new(algorithm)
        return cls(digest, size, algorithm)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FileStamp:
    """What identifies one version of a file's bytes without reading them."""

    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStamp:
        return cls(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    @classmethod
    def from_dict(cls, data: object) -> FileStamp | None:
        """None for anything but what `to_dict` wrote: the file is then hashed again."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(**{k: int(data[k]) for k in ("ino", "size", "mtime_ns", "ctime_ns")})
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self) -> dict:
        return asdict(self)
