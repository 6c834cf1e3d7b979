"""Is a kernel ready: compiled in this process, or loadable now from numba's disk cache?

While the compile worker (`compile_worker`) fills the cache on a first launch, the GUI
process must never compile: a compile takes numba's global lock and both cores for
seconds. `ready(kernel, *args)` answers for the signature of these arguments: already
compiled here, or in the cache's index (`<kernel>.nbi`), in which case it is loaded now
(milliseconds), under a guard that refuses to compile should the load fail. A positive
answer is numba's own (the signature is then in `kernel.overloads`); a negative one is
kept until the worker reports progress. With no worker running nothing is gated: numba
loads or compiles as it always did (the CLI, a warm launch, EXPLORER_FAST_START=0).

numba has no public "is this cached" call; this reads `Dispatcher._cache` (a
`numba.core.caching.Cache`): `_index_key(sig, codegen)` and `_cache_file._load_index()`.
tests/compute/test_numba_readiness.py fails loudly when those names change; at run time
their absence means "not ready", so the numpy paths draw until the worker is done.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from numba.core import event

from explorer.compute.numba import compile_worker
from explorer.core.jobs import TaskState

WAIT_STATUS = "Preparing the map engine (first launch)"
POLL_SECONDS = 0.25
log = logging.getLogger(__name__)
_negative: dict[tuple[Any, tuple], int] = {}  # (kernel, signature) -> worker generation
_lock = threading.Lock()
_local = threading.local()


class WouldCompile(Exception):
    """Raised by `NoCompile` when numba is about to compile in a guarded thread."""


class NoCompile(event.Listener):
    """Refuses numba compiles started by one thread (loads from the cache pass)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def on_start(self, ev: event.Event) -> None:
        if threading.get_ident() == self.thread:
            raise WouldCompile()

    def on_end(self, ev: event.Event) -> None:
        pass


def signature(kernel: Any, args: tuple) -> tuple:
    """The types numba dispatches these arguments on (its overloads' and the cache's key)."""
    return tuple(kernel.typeof_pyval(a) for a in args)


def in_cache_index(kernel: Any, sig: tuple) -> bool:
    """Whether the kernel's on-disk index lists this signature for this CPU and source.
    AttributeError when numba's private cache API changed (callers treat it as False)."""
    cache = kernel._cache
    key = cache._index_key(sig, kernel.targetctx.codegen())
    return key in cache._cache_file._load_index()


def load_now(kernel: Any, sig: tuple) -> bool:
    """Load this signature from the disk cache, never compiling it: True when loaded."""
    try:
        if not in_cache_index(kernel, sig):
            return False
    except AttributeError as exc:  # numba's private cache API moved: numpy until the worker ends
        log.warning("cannot read numba's cache index (%s); using numpy while kernels compile", exc)
        return False
    try:
        with event.install_listener("numba:compile", NoCompile()):
            kernel.compile(sig)
    except WouldCompile:
        return False
    return sig in kernel.overloads


def ready(kernel: Any, *args: Any) -> bool:
    """True when `kernel(*args)` runs without compiling in this process now.

    Never compiles while the compile worker runs; with no worker running (nothing to
    wait for), always True: numba loads or compiles as usual.
    """
    if not compile_worker.running():
        return True
    sig = signature(kernel, args)
    if sig in kernel.overloads:
        return True
    generation = compile_worker.WORKER.generation()
    with _lock:
        if _negative.get((kernel, sig)) == generation:
            return False
    if load_now(kernel, sig):
        return True
    with _lock:
        _negative[(kernel, sig)] = generation
    return False


class CompileWatch(event.Listener):
    """Calls `callback(kernel name)` as numba starts compiling anything in this process."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        self.callback = callback

    def on_start(self, ev: event.Event) -> None:
        dispatcher = (ev.data or {}).get("dispatcher")
        self.callback(getattr(getattr(dispatcher, "py_func", None), "__qualname__", "?"))

    def on_end(self, ev: event.Event) -> None:
        pass


def watch_compiles(callback: Callable[[str], None]) -> None:
    """Report every compile in this process from now on (the start-up timeline counts them:
    a first launch with the compile worker should show none before the worker is done)."""
    event.register("numba:compile", CompileWatch(callback))


@contextmanager
def job_state(state: TaskState) -> Iterator[None]:
    """Name the running job's state for this thread, so a wait for the worker shows its
    status line and can be cancelled (`wait_for` called without a state uses it)."""
    previous = getattr(_local, "state", None)
    _local.state = state
    try:
        yield
    finally:
        _local.state = previous


def wait_for_worker(state: TaskState | None = None) -> None:
    """Wait until the compile worker is done, for a library whose kernels compile on
    import (fast-hdbscan's: no signature to ask about); the job's status line says so and
    cancelling raises `Cancelled`. Returns at once when no worker runs."""
    state = state or getattr(_local, "state", None) or TaskState()
    said = False
    while compile_worker.running():
        if not said:
            state.status(WAIT_STATUS)
            said = True
        state.check()
        time.sleep(POLL_SECONDS)


def wait_for(kernel: Any, args: tuple, state: TaskState | None = None) -> None:
    """Wait until `kernel(*args)` is ready (a kernel with no numpy path: UMAP's epochs,
    fast-hdbscan), saying so on the job's status line; cancelling raises `Cancelled`."""
    state = state or getattr(_local, "state", None) or TaskState()
    if ready(kernel, *args):
        return
    compile_worker.request()
    said = False
    while not ready(kernel, *args):
        if not said:
            state.status(WAIT_STATUS)
            said = True
        state.check()
        time.sleep(POLL_SECONDS)


__all__ = ["WAIT_STATUS", "CompileWatch", "NoCompile", "WouldCompile", "in_cache_index",
           "job_state", "load_now", "ready", "signature", "wait_for", "wait_for_worker",
           "watch_compiles"]
