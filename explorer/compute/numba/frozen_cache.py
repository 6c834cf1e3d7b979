"""numba's disk cache in the frozen app (PyInstaller): one folder, whatever the launch directory.

PyInstaller gives bundled modules relative file names
(`explorer/compute/numba/umap_kernels.py`) and ships no sources, so numba skips
NUMBA_CACHE_DIR (it wants an existing source file) and falls back to its user-wide
locator, which names the folder after `os.path.abspath(file)`: the launch directory.
Launched from elsewhere, the app recompiled its kernels (~17 s). The bundle's runtime hook
(installer/hooks/rthook_numba_cache.py) names this locator in
NUMBA_CACHE_LOCATOR_CLASSES; numba imports this module when it first caches a function.
"""

from __future__ import annotations

import os
import sys

from numba.core import config
from numba.core.caching import UserProvidedCacheLocator


class FrozenCacheLocator(UserProvidedCacheLocator):
    """A bundled module's kernels under the app's numba folder (`explorer.compute.numba.configure()`),
    keyed by where the module sits inside the installed bundle.

    The freshness stamp stays numba's frozen one, a hash of the executable, which
    carries the bundle's code, so a rebuilt app never loads stale machine code.
    """

    @classmethod
    def from_function(cls, py_func, py_file):
        bundle = getattr(sys, "_MEIPASS", None)
        if bundle is None:
            return None
        if not config.CACHE_DIR:  # numba came in before the app's set-up (e.g. via a plugin)
            from explorer.compute.numba import configure

            configure()
        locator = cls(py_func, os.path.join(bundle, py_file))  # absolute names stay as they are
        try:
            locator.ensure_cache_path()
        except OSError:
            return None  # unwritable: the next locator (numba's user-wide one) takes over
        return locator
