"""Sessions opened again and again under load while kernels compile (issue 23).

The deadlock: the garbage collector, run by a job thread in the middle of a numba
compile, destroyed a closed window's Qt objects there; ~QObject waited for the GIL
holding Qt's signal-slot mutexes while the UI thread, holding the GIL, waited for
one of them. The conditions are rebuilt here: each process
(tests/ui/session_stress.py) starts with an empty numba cache, two windows open
sessions at once, windows are made and closed all along, and two CPU hogs run.
Every open must finish within a generous bound, and the process must exit.

EXPLORER_STRESS_OPENS sets the number of opens: 4 by default (one process, ~20 s),
50 or more for a soak (16 a process, three processes at a time: a busy machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

OPENS = int(os.environ.get("EXPLORER_STRESS_OPENS", "4"))
PER_PROCESS = 16
AT_ONCE = 3
BOUND = 120.0  # seconds an open may take on a loaded machine; a hang never ends
CHILD = Path(__file__).with_name("session_stress.py")


@pytest.fixture
def cpu_hog() -> Iterator[None]:
    """Two busy processes: a loaded machine, as when the deadlock was seen."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@pytest.mark.timeout(max(600, OPENS * 60))
def test_sessions_open_under_load_with_a_cold_numba_cache(tmp_path, cpu_hog):
    counts = [min(PER_PROCESS, OPENS - k) for k in range(0, OPENS, PER_PROCESS)]
    for first in range(0, len(counts), AT_ONCE):
        batch = [(tmp_path / f"process-{first + j}", n)
                 for j, n in enumerate(counts[first:first + AT_ONCE])]
        running = [(folder, n, stress_process(folder, n)) for folder, n in batch]
        for folder, opens, process in running:
            try:
                process.wait(timeout=(opens // 2 + 3) * (BOUND + 60))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            # on a hang the process's faulthandler wrote every thread's stack to its stderr
            err = (folder / "stderr.txt").read_text(errors="replace")[-20000:]
            assert process.returncode == 0, f"exit {process.returncode}; stacks:\n{err}"
            out = (folder / "stdout.txt").read_text()
            times = json.loads(out.strip().splitlines()[-1])["opens"]
            assert len(times) == opens and max(times) < BOUND, times


def stress_process(folder: Path, opens: int) -> subprocess.Popen:
    """One stress process, its output in files (a pipe nobody reads could block it)."""
    folder.mkdir(parents=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "EXPLORER_HOME": str(folder / "home"),
           "NUMBA_CACHE_DIR": str(folder / "numba-cache")}  # empty: everything compiles
    with open(folder / "stdout.txt", "w") as out, open(folder / "stderr.txt", "w") as err:
        return subprocess.Popen([sys.executable, str(CHILD), str(folder / "home"), str(opens),
                                 str(BOUND)], env=env, stdout=out, stderr=err)
