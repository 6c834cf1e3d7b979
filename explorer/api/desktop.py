"""`explorer.show`: the desktop app on a set, in a process of its own.

Its own process, so a notebook's kernel goes on while the window is open and Qt is never
imported into it; its own session (process group), so interrupting the kernel or the
script does not close the window. The set is stored first (see loading.py), then the app
opens it by id (`--set`), as `embedding-explorer --set ID` does.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from explorer.api.loading import load


def app_command(set_id: str, args: Sequence[str] = ()) -> list[str]:
    """How to start the app on a library set: this interpreter with `-m explorer`, or the
    executable itself in the frozen bundle (which has no `-m`)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--set", set_id, *args]
    return [sys.executable, "-m", "explorer", "--set", set_id, *args]


def show(data: Any, metadata: Any = None, *, args: Sequence[str] = ()) -> subprocess.Popen:
    """Open the desktop app on `data` (a Set, or anything `explorer.load` takes, stored
    first) and return at once with the app's process: `.poll()` is None while the window is
    open, `.wait()` waits for it to be closed, `.terminate()` closes it. `args`: more of the
    app's options (`--diagnose`, `--quit-after-load`)."""
    s = load(data, metadata)
    return subprocess.Popen(app_command(s.id, args), stdin=subprocess.DEVNULL,
                            start_new_session=True)
