""".npy files read from their header: what they hold, checked without reading the data.

Opening a library set or an artefact must stay cheap for 10M rows, so the shape,
dtype and the size the header promises are compared with the file itself, and
the data is memory-mapped from the same open file that was checked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # where the data starts
    file_bytes: int

    @property
    def data_bytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def problem(self) -> str | None:
        """Why the file cannot hold the array its header declares (None when it can)."""
        if self.dtype.hasobject:
            return "it holds Python objects"
        expected = self.offset + self.data_bytes
        if self.file_bytes < expected:
            return (f"it is cut short: {self.file_bytes:,} bytes of the {expected:,} its header "
                    "declares")
        if self.file_bytes > expected:
            return f"it is {self.file_bytes - expected:,} bytes longer than its header declares"
        return None


def read_header(fh: BinaryIO) -> NpyHeader:
    """The header of an open .npy file (ValueError when it is not one)."""
    size = os.fstat(fh.fileno()).st_size
    if size == 0:
        raise ValueError("the file is empty (0 bytes)")
    version = np.lib.format.read_magic(fh)
    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
              else np.lib.format.read_array_header_2_0)
    shape, fortran, dtype = reader(fh)
    return NpyHeader(tuple(int(n) for n in shape), np.dtype(dtype), bool(fortran), fh.tell(),
                     size)


def map_checked(path: Path) -> tuple[np.ndarray, os.stat_result]:
    """(read-only memory map, the file's stat) of a .npy whose size matches its header.

    Raises ValueError naming what is wrong, OSError when the file cannot be read.
    """
    with open(path, "rb") as fh:
        header = read_header(fh)
        problem = header.problem()
        if problem:
            raise ValueError(problem)
        st = os.fstat(fh.fileno())
        order = "F" if header.fortran_order else "C"
        if header.data_bytes == 0:  # mmap cannot map nothing
            array = np.empty(header.shape, dtype=header.dtype, order=order)
            array.flags.writeable = False
            return array, st
        array = np.memmap(fh, dtype=header.dtype, mode="r", offset=header.offset,
                          shape=header.shape, order=order)
    return array, st
