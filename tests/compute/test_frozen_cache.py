"""The bundle's shipped numba cache (explorer/compute/numba/frozen_cache.py): written by the
build in a layout that does not depend on where the bundle sits, copied into a user cache
that lacks it, and then loaded by numba instead of compiled."""

from __future__ import annotations

import os
import sys
import types

import numba
import numpy as np
import pytest
from numba.core import config

from explorer.compute.numba import frozen_cache

SOURCE = "def total(a):\n    s = 0.0\n    for x in a:\n        s += x\n    return s\n"
MODULE = os.path.join("pkg", "sub", "kern.py")  # a bundled module's relative file name


def kernel():
    """A fresh cached dispatcher of the same function, as each process makes it at import."""
    module = types.ModuleType("frozen_cache_kern")  # numba pickles the function's module
    exec(compile(SOURCE, MODULE, "exec"), module.__dict__)  # getfile: the relative name
    return numba.njit(cache=True)(module.total)


@pytest.fixture
def bundle(tmp_path, monkeypatch):
    """A fake PyInstaller bundle holding the module, with the frozen locator in charge."""
    root = tmp_path / "bundle"
    (root / MODULE).parent.mkdir(parents=True)
    (root / MODULE).write_text(SOURCE)  # the stamp of a non-frozen run is the file's hash
    monkeypatch.setattr(sys, "_MEIPASS", str(root), raising=False)
    monkeypatch.setattr(config, "CACHE_LOCATOR_CLASSES",
                        "explorer.compute.numba.frozen_cache.FrozenCacheLocator")
    monkeypatch.setattr(frozen_cache, "_seeded", set())
    return root


def build_shipped(bundle, monkeypatch) -> None:
    """What installer/build.sh does: run the bundle once with the shipping layout."""
    monkeypatch.setenv(frozen_cache.SHIPPING_ENV, "1")
    monkeypatch.setattr(config, "CACHE_DIR", str(bundle / frozen_cache.SHIPPED_DIR))
    assert kernel()(np.arange(4.0)) == 6.0
    monkeypatch.delenv(frozen_cache.SHIPPING_ENV)


def test_the_shipped_layout_names_module_folders_not_install_paths():
    assert frozen_cache.shipped_subdir(MODULE) == "pkg.sub"
    assert frozen_cache.shipped_subdir("kern.py") == "_top"
    assert frozen_cache.shipped_subdir("/abs/pkg/kern.py") is None


def test_a_new_user_cache_loads_the_shipped_kernels_without_compiling(bundle, tmp_path,
                                                                       monkeypatch):
    build_shipped(bundle, monkeypatch)
    shipped = bundle / frozen_cache.SHIPPED_DIR / "pkg.sub"
    assert sorted(p.suffix for p in shipped.iterdir()) == [".nbc", ".nbi"]
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "user"))
    fresh = kernel()
    assert fresh(np.arange(5.0)) == 10.0
    assert sum(fresh.stats.cache_hits.values()) == 1 and not fresh.stats.cache_misses


def test_a_stale_user_index_is_replaced_and_a_current_one_kept(bundle, tmp_path, monkeypatch):
    build_shipped(bundle, monkeypatch)
    shipped = bundle / frozen_cache.SHIPPED_DIR / "pkg.sub"
    index = next(shipped.glob("*.nbi"))
    stamp = frozen_cache.index_stamp(index)
    assert stamp is not None and frozen_cache.index_stamp(tmp_path / "none.nbi") is None
    user = tmp_path / "user"
    user.mkdir()
    (user / index.name).write_bytes(b"another build's index")
    assert frozen_cache.seed(shipped, user, stamp) == 1
    assert (user / index.name).read_bytes() == index.read_bytes()
    assert frozen_cache.seed(shipped, user, stamp) == 0  # current: kept (native entries too)
    assert not list(user.glob(".*.seed"))


def test_a_user_cache_that_cannot_be_written_costs_a_compile_only(bundle, tmp_path, monkeypatch):
    build_shipped(bundle, monkeypatch)
    shipped = bundle / frozen_cache.SHIPPED_DIR / "pkg.sub"
    assert frozen_cache.seed(shipped, tmp_path / "missing" / "folder", object()) == 0
