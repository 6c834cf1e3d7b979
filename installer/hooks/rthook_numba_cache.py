"""PyInstaller runtime hook: numba's disk cache in one folder, whatever the launch directory.

A frozen module's code has a relative file name (`explorer/compute/numba/umap_kernels.py`);
numba turns it into a cache folder through `os.path.abspath`, i.e. the current
directory, and the source file does not exist, so NUMBA_CACHE_DIR is ignored too:
launched from another directory the app recompiled its kernels (~17 s). This names
the locator that pins them (explorer.compute.numba.frozen_cache) before numba is imported;
numba imports it only when the first cached function is compiled.
"""

import os

os.environ.setdefault(
    "NUMBA_CACHE_LOCATOR_CLASSES",
    "explorer.compute.numba.frozen_cache.FrozenCacheLocator,UserWideCacheLocator")
