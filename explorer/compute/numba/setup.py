"""numba set up once for the app: its cache folder, `jit` with a cache that cannot fail, one lock.

numba compiles a jitted function the first time it is called in a process; with
`cache=True` the machine code is kept on disk and a later process loads it in a fraction
of a second. `configure()` points that cache at a folder under the app's data home. It
must run before numba is imported, because numba reads NUMBA_CACHE_DIR when it is
imported: this module calls it before importing numba, and re-reads numba's
configuration if numba was already imported. A NUMBA_CACHE_DIR set by the user wins.

Every kernel of the app is made with `jit`, at the import of the module that defines it,
never lazily in a worker thread (a compile there, under a lock and with the garbage
collector running in the middle of it, deadlocked the GUI: issue 23). Its cache falls
back to memory when the disk refuses a read or write (full, read-only, not ours): the
kernel is compiled and used as usual, the log notes (once per kernel) that it will be
compiled again next time, and nothing fails (issue 14).
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from explorer.core.paths import data_home

CACHE_SUBDIR = "numba-cache"
# what a disk says when it will not keep the cache: full, read-only, not ours
REFUSALS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
log = logging.getLogger(__name__)
_configured: Path | None = None
_lock = threading.Lock()


def default_cache_dir() -> Path:
    return data_home() / CACHE_SUBDIR


def configure() -> Path:
    """Point numba's on-disk cache at the app's folder (idempotent); returns the folder.

    Sets NUMBA_CACHE_DIR unless the user already set it. The folder is created by
    numba when it first writes to it.
    """
    global _configured
    with _lock:
        if _configured is not None:
            return _configured
        path = os.environ.get("NUMBA_CACHE_DIR") or str(default_cache_dir())
        os.environ["NUMBA_CACHE_DIR"] = path
        if "numba" in sys.modules:  # imported before us: make it see the variable
            try:
                from numba.core import config as _nb_config
                _nb_config.reload_config()
            except Exception:  # noqa: BLE001 - a cache is an optimisation, never an error
                pass
        _configured = Path(path)
        return _configured


configure()

import numba  # must come after configure()
from numba.core.caching import FunctionCache

prange = numba.prange  # kernels' parallel loops, for modules that must not import numba

# numba's workqueue threading layer aborts the process when two threads launch
# parallel kernels at once; the GUI may run jobs in several threads.
parallel_lock = threading.Lock()


def _note_refusal(name: str, exc: BaseException) -> None:
    """Say it in the log (info: nothing for the user to do), once per kernel."""
    log.info("numba's cache cannot be used for %s (%s); it is compiled in memory, and again "
             "in the next session", name, exc)


class MemoryFallbackCache(FunctionCache):
    """numba's on-disk cache of one function, except that a read or write the disk refuses
    leaves the machine code in memory only (numba itself raises, and the call fails).
    After a refusal the function's cache is off for the session."""

    def __init__(self, py_func: Callable[..., Any]) -> None:
        super().__init__(py_func)
        self.kernel = py_func.__qualname__

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        try:
            return super().load_overload(sig, target_context)
        except OSError as exc:
            self._refused(exc)
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        try:
            super().save_overload(sig, data)
        except OSError as exc:  # numba added the compiled code before saving it: it is in use
            self._refused(exc)

    def _refused(self, exc: OSError) -> None:
        if exc.errno not in REFUSALS:
            raise exc
        self.disable()
        _note_refusal(self.kernel, exc)


def jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """`numba.njit(cache=True, **options)` whose cache falls back to memory (`MemoryFallbackCache`).

    numba has no public way to choose a cache class: `Dispatcher.enable_caching()`
    sets the dispatcher's `_cache`, and so does this. With no folder numba may
    write at all (no cache locator), the kernel is simply not cached.
    """
    def decorate(func: Callable[..., Any]) -> Any:
        dispatcher = numba.njit(**options)(func)
        try:
            dispatcher._cache = MemoryFallbackCache(dispatcher.py_func)
        except (OSError, RuntimeError) as exc:
            _note_refusal(func.__qualname__, exc)
        return dispatcher
    return decorate


def compile_for(kernel: Any, *args: Any) -> None:
    """Compile (or load) `kernel` for these arguments' types now, if it has not been yet.

    So a caller can hold `parallel_lock` for the run only, never across a compile (which
    takes numba's compiler lock, for seconds on a first launch). While the compile worker
    fills the cache on a first launch, waits for it instead (`readiness.wait_for`: these
    kernels have no numpy path, and the GUI process never compiles meanwhile).
    """
    from explorer.compute.numba import readiness  # it imports this module

    readiness.wait_for(kernel, args)
    kernel.compile(tuple(kernel.typeof_pyval(a) for a in args))


def run_parallel(kernel: Any, *args: Any, threads: int | None = None) -> Any:
    """`kernel(*args)` compiled first, then run under `parallel_lock` (on `threads` cores:
    all when None, 1 for a deterministic order of a `prange` loop)."""
    compile_for(kernel, *args)
    with parallel_lock:
        if threads is None:
            return kernel(*args)
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            return kernel(*args)
        finally:
            numba.set_num_threads(previous)


@contextmanager
def one_launch(threads: int | None = None) -> Iterator[None]:
    """Hold `parallel_lock` for code that launches parallel kernels it does not own (a
    library's), on `threads` cores meanwhile (all when None; 1 makes a library whose result
    depends on the order of its parallel loop deterministic)."""
    with parallel_lock:
        if threads is None:
            yield
            return
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            yield
        finally:
            numba.set_num_threads(previous)
