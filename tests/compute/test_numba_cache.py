"""numba's disk cache is an optimisation: a disk that refuses it (full, read-only, not ours)
costs a compile, never a traceback (issue 14)."""

from __future__ import annotations

import errno
import logging
import os

import numpy as np
import pytest
from numba.core import caching, config

from explorer.compute import index, raster
from explorer.compute.numba import jit, setup


def add_up(a):
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i]
    return total


@pytest.fixture
def fresh_cache_dir(tmp_path, monkeypatch):
    """New dispatchers cache into an empty folder (numba reads the folder per function)."""
    folder = tmp_path / "numba-cache"
    monkeypatch.setattr(config, "CACHE_DIR", str(folder))
    return folder


def refuse(code: int):
    def save(*_args, **_kwargs):
        raise OSError(code, os.strerror(code), "index.nbi")
    return save


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_refused_cache_write_compiles_in_memory(fresh_cache_dir, monkeypatch, caplog, code):
    monkeypatch.setattr(caching.IndexDataCacheFile, "save", refuse(code))
    kernel = jit()(add_up)
    with caplog.at_level(logging.INFO, logger=setup.__name__):
        assert kernel(np.arange(5.0)) == 10.0
        assert kernel(np.arange(4, dtype=np.float32)) == 6.0  # another signature: no new word
    assert [r.getMessage() for r in caplog.records] == [
        f"numba's cache cannot be used for add_up ([Errno {code}] {os.strerror(code)}: "
        "'index.nbi'); it is compiled in memory, and again in the next session"]
    assert all(r.levelno == logging.INFO for r in caplog.records)  # nothing for the user to do


def test_a_refused_cache_read_compiles_in_memory(fresh_cache_dir, monkeypatch):
    jit()(add_up)(np.arange(3.0))  # written to the cache
    monkeypatch.setattr(caching.IndexDataCacheFile, "load", refuse(errno.EACCES))
    assert jit()(add_up)(np.arange(3.0)) == 3.0


def test_other_cache_errors_still_raise(fresh_cache_dir, monkeypatch):
    monkeypatch.setattr(caching.IndexDataCacheFile, "save", refuse(errno.EIO))
    with pytest.raises(OSError, match="Input/output error"):
        jit()(add_up)(np.arange(3.0))


def test_no_cache_folder_at_all_still_jits(monkeypatch):
    def no_locator(_py_func):
        raise RuntimeError("cannot cache function 'add_up': no locator available")
    monkeypatch.setattr(setup, "MemoryFallbackCache", no_locator)
    assert jit()(add_up)(np.arange(4.0)) == 6.0


def test_map_drawing_on_a_full_disk(fresh_cache_dir, monkeypatch):
    """A real kernel, compiled afresh (as on a first launch) while the disk is full."""
    monkeypatch.setattr(caching.IndexDataCacheFile, "save", refuse(errno.ENOSPC))
    points = jit(nogil=True)(getattr(raster.points, "_points_kernel").py_func)
    monkeypatch.setattr(raster.points, "_points_kernel", points)
    xy = np.random.default_rng(0).normal(size=(500, 2)).astype(np.float32)
    image = raster.points_image(xy, (-3.0, 3.0, -3.0, 3.0), 64, 64, radius_px=2)
    assert image[..., 3].any() and len(points.signatures) == 1
    assert not fresh_cache_dir.exists() or not any(fresh_cache_dir.rglob("*.nbc"))


def test_neighbour_search_on_a_full_disk(fresh_cache_dir, monkeypatch):
    """The exact scan, compiled afresh while the disk is full, still answers."""
    monkeypatch.setattr(caching.IndexDataCacheFile, "save", refuse(errno.ENOSPC))
    scan = jit(parallel=True, fastmath=True, nogil=True)(
        getattr(index, "_scan_blocks").py_func)
    monkeypatch.setattr(index, "_scan_blocks", scan)
    x = np.random.default_rng(1).normal(size=(300, 8)).astype(np.float32)
    found = index.ExactIndex(x, "cosine").search(x[7], 3)
    assert found.rows[0] == 7 and len(scan.signatures) == 1
    assert not fresh_cache_dir.exists() or not any(fresh_cache_dir.rglob("*.nbc"))


def test_only_the_numba_package_imports_numba():
    """Everything else gets jit/prange from explorer.compute.numba, which configures the cache
    before numba is imported."""
    import ast
    from pathlib import Path

    import explorer

    root = Path(explorer.__file__).parent
    package = root / "compute" / "numba"
    offenders = []
    for path in root.rglob("*.py"):
        if package in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            if any(n == "numba" or n.startswith("numba.") for n in names):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
