"""Start-up timeline: named moments of a launch written to a file, to measure the first launch.

`mark(name, **info)` appends one JSON line to the file named by $EXPLORER_TIMELINE:
`{"t": seconds since the process started, "mono": time.monotonic(), "name": ..., **info}`.
Without the variable it does nothing, so the calls can stay in the app. `t` counts
from the process's own start (read from /proc on Linux), so the interpreter's and the
imports' time is included; `mono` lets a launcher line the marks up with its own clock.
This module imports only the standard library: it is imported first thing at start-up.
"""

from __future__ import annotations

import json
import os
import sys
import time

ENV = "EXPLORER_TIMELINE"
_seen: set[tuple[str, str]] = set()


def _process_start() -> float:
    """The process's start on the time.monotonic() clock.

    Linux: /proc/self/stat's start time (clock ticks since boot, CLOCK_BOOTTIME) set
    against the boot-time clock now. Elsewhere, or if /proc cannot be read: now, i.e.
    this module's import, which comes first in `explorer.__main__`.
    """
    now = time.monotonic()
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, after pid, comm
            age = time.clock_gettime(time.CLOCK_BOOTTIME) - started
            if 0.0 <= age < 3600.0:
                return now - age
        except (OSError, ValueError, IndexError, AttributeError):
            pass
    return now


START = _process_start()


def mark(name: str, **info: object) -> None:
    """Append the moment `name` (with `info`, JSON-able) to $EXPLORER_TIMELINE, if set.

    A file that cannot be written is ignored: the timeline must never stop the app.
    """
    path = os.environ.get(ENV)
    if not path:
        return
    now = time.monotonic()
    line = json.dumps({"t": round(now - START, 4), "mono": now, "name": name, **info},
                      default=str)
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    except OSError:
        pass


def mark_first(name: str, key: object = "", **info: object) -> None:
    """`mark`, only the first time for this `name` and `key` in the process
    (e.g. the first paint of the window, the first drawing of each map method)."""
    if not os.environ.get(ENV) or (name, str(key)) in _seen:
        return
    _seen.add((name, str(key)))
    mark(name, **info)


def read(path: str | os.PathLike) -> list[dict]:
    """The marks written to `path` so far, skipping a last line still being written."""
    marks = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    marks.append(json.loads(line))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return marks
