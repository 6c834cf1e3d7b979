"""One process of the session stress test (tests/ui/test_session_stress.py runs it).

Rounds of two fresh windows opening a session each at the same moment, in a process
whose numba cache the caller points at an empty folder, so the first rounds race the
kernels' compilation in the job threads; meanwhile windows are made and closed all
along (`Churn`), so the UI thread keeps connecting signals and closed windows leave
Qt objects to the garbage collector. Every open must finish within the bound. A
deadlock blocks the UI thread in C code where no Qt timer fires: faulthandler's own
thread then writes every thread's stack to stderr and ends the process (exit 1); an
open that is only late ends it with exit 3. Prints one JSON line: seconds per open.

    python tests/ui/session_stress.py HOME OPENS BOUND_SECONDS
"""

from __future__ import annotations

import faulthandler
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.core.session import Session, SetRef
from explorer.ui.main_window import MainWindow

ROWS, DIM = 3000, 16
LATE = 3  # exit code when an open did not finish within the bound


def make_library(home: Path) -> Library:
    """A set with a categorical, a numeric and a text column: colouring, filters, search."""
    rng = np.random.default_rng(7)
    meta = pa.table({"id": [f"a{i}" for i in range(ROWS)],
                     "section": np.array(["games", "world", "sport"])[np.arange(ROWS) % 3],
                     "size": np.arange(ROWS)})
    lib = Library(home)
    lib.import_set(EmbeddingSet(rng.normal(size=(ROWS, DIM)).astype(np.float32), meta,
                                name="articles", format="test", id_column="id"))
    return lib


def session_files(home: Path, opens: int) -> list[Path]:
    """Sessions with different selections, so every open redraws the map's layers; every
    other one shows a UMAP map (its kernels compile, its epochs run in a job thread)."""
    paths = []
    for i in range(max(2, min(opens, 8))):
        start = 5 + 37 * i
        projection = {"method": "umap" if i % 2 else "pca", "dims": 2, "seed": i}
        session = Session(
            set=SetRef("articles", "articles", ROWS, DIM),
            selection=np.r_[start:start + 200, 1000 + i],
            current=7 + i,
            panels={"map": {"colour_by": "section", "hidden": ["sport"],
                            "point_size": 3 + i % 3, "search": "games",
                            "projection": projection},
                    "neighbours": {"k": 25, "metric": "l2", "filter": f"size > {10 + i}"},
                    "table": {"filter": f"size < {2000 + i}", "search": ""}})
        paths.append(session.save(home / f"stress-{i}.eesession"))
    return paths


def wait_all(windows: list[MainWindow], bound: float) -> bool:
    """Run the event loop until every window applied its session, or `bound` seconds pass."""
    loop = QEventLoop()
    left = set(range(len(windows)))

    def applied(k: int) -> None:
        left.discard(k)
        if not left:
            loop.quit()

    slots = [(w, (lambda _notes, k=k: applied(k))) for k, w in enumerate(windows)]
    for w, slot in slots:
        w.sessions.applied.connect(slot)
    QTimer.singleShot(int(bound * 1000), loop.quit)
    try:
        return loop.exec() == 0 and not left
    finally:
        for w, slot in slots:
            w.sessions.applied.disconnect(slot)


class Churn:
    """Windows made and dropped all along, as a user opening and closing them does: the UI
    thread is busy building widgets (connecting signals), closed windows leave garbage."""

    def __init__(self, library: Library, every_ms: int = 150) -> None:
        self.library = library
        self.window: MainWindow | None = None
        self.timer = QTimer(interval=every_ms)
        self.timer.timeout.connect(self.turn)
        self.timer.start()

    def turn(self) -> None:
        old, self.window = self.window, MainWindow(self.library, restore=False)
        if old is not None:
            old.jobs.shutdown()
            old.deleteLater()

    def stop(self) -> None:
        self.timer.stop()
        if self.window is not None:
            self.window.deleteLater()


def main(home: Path, opens: int, bound: float) -> int:
    # Longer GIL turns (5 ms by default), as on a slow machine: a thread that waits for the
    # GIL while holding a lock keeps holding it longer, so lock-order races show sooner.
    sys.setswitchinterval(0.05)
    faulthandler.dump_traceback_later(bound + 30, exit=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    library = make_library(home)
    paths = session_files(home, opens)
    churn = Churn(library)
    times: list[float] = []
    done = 0
    while done < opens:
        # armed for the whole round: building the windows can hang as well as opening
        faulthandler.dump_traceback_later(bound + 30, exit=True)
        # fresh windows each round, as a user opening sessions into new windows does; the
        # old ones are deleted, leaving their Python wrappers to the garbage collector
        windows = [MainWindow(library, restore=False) for _ in range(min(2, opens - done))]
        for w in windows:
            w.show()
        t0 = time.monotonic()
        for k, w in enumerate(windows):
            w.open_paths([str(paths[(done + k) % len(paths)])])
        ok = wait_all(windows, bound)
        elapsed = time.monotonic() - t0
        times.extend([elapsed] * len(windows))
        done += len(windows)
        if not ok:
            print(json.dumps({"opens": times, "hung_at": done}), flush=True)
            faulthandler.dump_traceback(all_threads=True)
            return LATE
        for w in windows:
            w.jobs.shutdown()
            w.close()
            w.deleteLater()
        app.processEvents()
    churn.stop()
    print(json.dumps({"opens": times}), flush=True)
    # jobs of closed windows may still be compiling: the exit waits for them, and must end
    faulthandler.dump_traceback_later(bound + 30, exit=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
