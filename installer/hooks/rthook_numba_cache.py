"""PyInstaller runtime hook: numba's disk cache in one folder, whatever the launch directory,
and a first run that loads the kernels the bundle ships instead of compiling them.

A frozen module's code has a relative file name (`explorer/compute/numba/umap_kernels.py`);
numba turns it into a cache folder through `os.path.abspath`, i.e. the current
directory, and the source file does not exist, so NUMBA_CACHE_DIR is ignored too:
launched from another directory the app recompiled its kernels (~17 s). This names
the locator that pins them (explorer.compute.numba.frozen_cache) before numba is imported;
numba imports it only when the first cached function is compiled.

The bundle carries its kernels compiled for a generic x86-64 CPU (installer/build.sh);
the locator copies them into the user's cache. numba looks an entry up by the CPU's name
and features, so until the kernels were compiled natively on this machine (the compile
worker, `--compile-kernels`, leaves a `compiled-<version>-...json` marker in the cache
folder) this process runs as NUMBA_CPU_NAME=generic: slower code for one session, no
compile wait. The worker itself compiles natively, whatever the process that started it
was told. A NUMBA_CPU_NAME set by the user is left alone.
"""

import os
import sys

os.environ.setdefault(
    "NUMBA_CACHE_LOCATOR_CLASSES",
    "explorer.compute.numba.frozen_cache.FrozenCacheLocator,UserProvidedCacheLocator")

GENERIC_BY_HOOK = "EXPLORER_NUMBA_GENERIC_BY_HOOK"  # set here, so a worker can undo it


def _native_compiled() -> bool:
    """A compile worker finished on this machine for this version of the app."""
    from pathlib import Path

    from explorer import __version__
    from explorer.core.paths import data_home

    # explorer.compute.numba.configure()'s folder (not imported here: it imports numba)
    folder = Path(os.environ.get("NUMBA_CACHE_DIR") or data_home() / "numba-cache")
    return any(folder.glob(f"compiled-{__version__}-*.json"))


def _choose_cpu() -> None:
    if sys.argv[1:2] == ["--compile-kernels"]:  # the worker: native code for next time
        if os.environ.pop(GENERIC_BY_HOOK, None):
            os.environ.pop("NUMBA_CPU_NAME", None)
        return
    if "NUMBA_CPU_NAME" in os.environ:
        return
    shipped = os.path.join(getattr(sys, "_MEIPASS", ""), "numba-cache-generic")
    if os.path.isdir(shipped) and not _native_compiled():
        os.environ["NUMBA_CPU_NAME"] = "generic"
        os.environ[GENERIC_BY_HOOK] = "1"


_choose_cpu()
