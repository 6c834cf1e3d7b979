"""Sessions opened again and again under load while kernels compile (issue 23).

The deadlock: the garbage collector, run by a job thread in the middle of a numba
compile, destroyed a closed window's Qt objects there; ~QObject waited for the GIL
holding Qt's signal-slot mutexes while the UI thread, holding the GIL, waited for
one of them. The conditions are rebuilt here: each process
(tests/ui/session_stress.py) starts with an empty numba cache, two windows open
sessions at once, windows are made and closed all along, and two CPU hogs run.
Every open must finish within a generous bound, and the process must exit.

EXPLORER_STRESS_OPENS sets the number of opens (default 4, one process; 50 or more
for a soak: 16 a process).
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
    left, round_ = OPENS, 0
    while left > 0:
        opens = min(PER_PROCESS, left)
        folder = tmp_path / f"process-{round_}"
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
               "EXPLORER_HOME": str(folder / "home"),
               "NUMBA_CACHE_DIR": str(folder / "numba-cache")}  # empty: everything compiles
        try:
            out = subprocess.run([sys.executable, str(CHILD), str(folder / "home"), str(opens),
                                  str(BOUND)], env=env, capture_output=True, text=True,
                                 timeout=(opens // 2 + 3) * (BOUND + 60))
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"the stress process hung past its own watchdog:\n{exc.stderr}")
        # on a hang the child's faulthandler writes every thread's stack to stderr
        assert out.returncode == 0, f"exit {out.returncode}; stacks:\n{out.stderr[-20000:]}"
        times = json.loads(out.stdout.strip().splitlines()[-1])["opens"]
        assert len(times) == opens and max(times) < BOUND, times
        left -= opens
        round_ += 1
