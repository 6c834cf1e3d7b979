"""numba's disk cache in the frozen app (PyInstaller): one folder, whatever the launch directory,
seeded on a first run from a cache compiled for a generic CPU that ships inside the bundle.

PyInstaller gives bundled modules relative file names
(`explorer/compute/numba/umap_kernels.py`) and ships no sources, so numba skips
NUMBA_CACHE_DIR (it wants an existing source file) and falls back to its user-wide
locator, which names the folder after `os.path.abspath(file)`: the launch directory.
Launched from elsewhere, the app recompiled its kernels (~17 s). The bundle's runtime hook
(installer/hooks/rthook_numba_cache.py) names this locator in
NUMBA_CACHE_LOCATOR_CLASSES; numba imports this module when it first caches a function.

A machine that never ran the bundle would still compile every kernel on first use (~11 s
quiet, 35 s for fast-hdbscan, more when busy). So installer/build.sh runs the bundle once
with NUMBA_CPU_NAME=generic and SHIPPING_ENV set: this locator then writes into
`<bundle>/_internal/numba-cache-generic/<module folder>/`, a layout that does not depend
on where the bundle is installed. On a user's machine `seed` copies a module's shipped
files into its user cache folder when the user's index is missing or was written by
another build (numba stamps it with the executable's hash), before numba reads it. The
runtime hook sets NUMBA_CPU_NAME=generic until a native compile has finished, so those
entries are the ones numba looks up (its index key holds the CPU's name and features).
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
from pathlib import Path

import numba
from numba.core import config
from numba.core.caching import UserProvidedCacheLocator

SHIPPED_DIR = "numba-cache-generic"  # inside the bundle (sys._MEIPASS)
SHIPPING_ENV = "EXPLORER_NUMBA_SHIPPING"  # installer/build.sh: write the shipped layout
_seeded: set[str] = set()  # user cache folders seeded in this process


def shipped_subdir(py_file: str) -> str | None:
    """A bundled module's folder as a name that is the same wherever the bundle is installed
    (`explorer/compute/numba/x.py` -> `explorer.compute.numba`); None for absolute names."""
    if os.path.isabs(py_file):
        return None
    folder = os.path.dirname(os.path.normpath(py_file))
    return folder.replace(os.sep, ".") or "_top"


def index_stamp(path: Path) -> object | None:
    """The source stamp numba wrote into an index file, or None (missing, another numba,
    unreadable): the test numba itself applies before it trusts an index."""
    try:
        with path.open("rb") as fh:
            if pickle.load(fh) != numba.__version__:
                return None
            stamp, _overloads = pickle.loads(fh.read())
    except Exception:  # noqa: BLE001 - any unreadable index is simply not this build's
        return None
    return stamp


def seed(source: Path, target: Path, stamp: object) -> int:
    """Copy each shipped index of `source` whose counterpart in `target` is missing or stale
    (another stamp), with all its data files; returns the indexes copied.

    The data files are copied first and the index last (each via a temporary file and a
    rename), so numba never sees an index pointing at files not yet there; a stale data file
    of the same name is replaced, never mixed with the new index.
    """
    copied = 0
    names = sorted(p.name for p in source.iterdir()) if source.is_dir() else []
    for index in (n for n in names if n.endswith(".nbi")):
        if index_stamp(target / index) == stamp:
            continue  # this build's index is there (perhaps with native entries too)
        base = index[:-len(".nbi")]
        data = [n for n in names if n.startswith(base + ".") and n.endswith(".nbc")
                and n[len(base) + 1:-len(".nbc")].isdigit()]
        try:
            for name in [*data, index]:
                tmp = target / f".{name}.seed"
                shutil.copyfile(source / name, tmp)
                os.replace(tmp, target / name)
        except OSError:
            return copied  # a full or read-only disk: those kernels compile, nothing more
        copied += 1
    return copied


class FrozenCacheLocator(UserProvidedCacheLocator):
    """A bundled module's kernels under the app's numba folder (`explorer.compute.numba.configure()`),
    keyed by where the module sits inside the installed bundle.

    The freshness stamp stays numba's frozen one, a hash of the executable, which
    carries the bundle's code, so a rebuilt app never loads stale machine code.
    """

    def __init__(self, py_func, py_file, subdir: str | None = None) -> None:
        super().__init__(py_func, py_file)
        self.folder = (os.path.join(config.CACHE_DIR, subdir) if subdir
                       else super().get_cache_path())

    def get_cache_path(self) -> str:
        return self.folder

    @classmethod
    def from_function(cls, py_func, py_file):
        bundle = getattr(sys, "_MEIPASS", None)
        if bundle is None:
            return None
        if not config.CACHE_DIR:  # numba came in before the app's set-up (e.g. via a plugin)
            from explorer.compute.numba import configure

            configure()
        shipped = shipped_subdir(py_file)
        shipping = bool(os.environ.get(SHIPPING_ENV)) and shipped is not None
        # absolute names stay as they are
        locator = cls(py_func, os.path.join(bundle, py_file), shipped if shipping else None)
        try:
            locator.ensure_cache_path()
        except OSError:
            return None  # unwritable: the next locator (numba's user-wide one) takes over
        if shipped is not None and not shipping and locator.folder not in _seeded:
            _seeded.add(locator.folder)
            seed(Path(bundle) / SHIPPED_DIR / shipped, Path(locator.folder),
                 locator.get_source_stamp())
        return locator
