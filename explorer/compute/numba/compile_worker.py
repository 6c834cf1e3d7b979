"""The kernels' compile on a first launch, in a separate process, so the window never waits on it.

numba compiles a kernel the first time a process calls it (about 11 s for the map's kernels
on two quiet cores, 150 s for everything on a busy machine) and keeps the machine code in
its disk cache. Done in the GUI process, that compile holds the first map and competes for
the GIL. The app instead starts this worker right after its window shows: it runs
`explorer.compute.warm_up.warm_up()` at low priority with the same NUMBA_CACHE_DIR (the
environment is inherited), then writes a marker named for the app's version, numba's and
the CPU, so later launches start no worker. Meanwhile `readiness.ready` answers whether a
kernel can be loaded from the cache now; the map's drawing kernels have numpy paths for the
others. numba writes its cache files atomically, so reading them meanwhile is safe.

    python -m explorer.compute.numba.compile_worker --marker PATH   (the frozen app:
    the executable with --compile-kernels, see explorer/__main__.py)

The worker rewrites `<marker>.progress` after each step of the warm-up: the app re-checks a
"not ready" answer when it changes. EXPLORER_FAST_START=0 turns the worker (and the gate)
off: today's in-process warm-up, for the first-launch benchmark's baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from explorer import __version__
from explorer.compute.numba.setup import configure

FAST_START_ENV = "EXPLORER_FAST_START"
FLAG = "--compile-kernels"  # the frozen app's way to run this module
STOP_SECONDS = 5.0
log = logging.getLogger(__name__)


def fast_start() -> bool:
    """False when EXPLORER_FAST_START is '0' (or false/no/off): compile in-process as before."""
    return os.environ.get(FAST_START_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def source_stamp() -> str:
    """A hash of the compute package's sources (name, size, mtime): a checkout whose kernels
    changed under the same version number does not trust an old marker. Empty in the
    frozen app, which ships no sources (its version names its code)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def marker_path(cache_dir: Path | None = None) -> Path:
    """`<cache>/compiled-<app>-<numba>-<cpu>-<sources>.json`: this exact setup compiled once."""
    import numba
    from numba.core import config

    cpu = config.CPU_NAME or "host"
    name = f"compiled-{__version__}-{numba.__version__}-{cpu}-{source_stamp()}.json"
    return (cache_dir or configure()) / name


def command(marker: Path) -> list[str]:
    """How to start the worker: this module under Python, the executable itself when frozen."""
    if getattr(sys, "frozen", False):
        return [sys.executable, FLAG, "--marker", str(marker)]
    return [sys.executable, "-m", "explorer.compute.numba.compile_worker", "--marker", str(marker)]


class Worker:
    """The app's one compile worker: started at most once, stopped on quit."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.marker: Path | None = None
        self.enabled = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the worker unless this setup's kernels are already compiled (the marker)."""
        with self._lock:
            self.enabled = True
            if self.proc is not None:
                return
            self.marker = marker_path()
            if self.marker.exists():
                return
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(self.marker.parent / "compile-worker.log", "w",
                          encoding="utf-8") as log_file:  # the child keeps its own copy
                    self.proc = subprocess.Popen(command(self.marker), stdout=log_file,
                                                 stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL)
            except OSError as exc:  # no worker: the kernels compile in-process when used
                log.warning("could not start the kernels' compile worker: %s", exc)

    def running(self) -> bool:
        proc = self.proc
        return proc is not None and proc.poll() is None

    def done(self) -> bool:
        """True once no worker compiles: it finished, failed, was stopped, or was not needed."""
        return not self.running()

    def generation(self) -> int:
        """Changes whenever the worker reports progress (its progress file is rewritten)."""
        if self.marker is None:
            return 0
        try:
            return Path(f"{self.marker}.progress").stat().st_mtime_ns
        except OSError:
            return 0

    def stop(self) -> None:
        """End the worker (quit): numba's cache files are written atomically, so a compile
        cut short leaves nothing half-written; the next launch starts it again."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


WORKER = Worker()


def start() -> None:
    """Start the compile worker (the app, right after its window shows)."""
    if fast_start():
        WORKER.start()


def request() -> None:
    """A kernel was needed before it was ready: make sure the worker runs (once the app
    enabled it; the CLI never starts one and compiles in-process as before)."""
    if WORKER.enabled and WORKER.proc is None and fast_start():
        WORKER.start()


def done() -> bool:
    return WORKER.done()


def running() -> bool:
    return WORKER.running()


def stop() -> None:
    WORKER.stop()


def main(argv: list[str] | None = None) -> int:
    """The worker process: warm every kernel at low priority, then write the marker."""
    p = argparse.ArgumentParser(prog="compile_worker", description=__doc__.split("\n\n")[0])
    p.add_argument("--marker", type=Path, required=True)
    args = p.parse_args(argv)
    if hasattr(os, "nice"):
        os.nice(10)  # the GUI keeps a core for the user's first actions
    from explorer.compute.warm_up import warm_up
    from explorer.core.jobs import TaskState

    progress = Path(f"{args.marker}.progress")
    steps: list[str] = []
    seconds: list[float] = []
    t0 = time.perf_counter()

    def step(text: str) -> None:
        steps.append(text)
        seconds.append(round(time.perf_counter() - t0, 2))
        progress.write_text(json.dumps({"steps": steps, "seconds": seconds}))

    result = warm_up(TaskState(on_status=step))
    tmp = args.marker.with_suffix(".tmp")
    tmp.write_text(json.dumps({"seconds": round(time.perf_counter() - t0, 2),
                               "warm_up": result}, default=str))
    os.replace(tmp, args.marker)
    step("done")
    print(f"compiled in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
