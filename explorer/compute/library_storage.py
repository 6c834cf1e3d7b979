"""`du` and `gc` of the whole library: core/storage.py, told where encode jobs keep their work.

The library's layout is core's, but the encode jobs' work folders are compute's
(compute/encoding/pipeline.py), so the front door the CLI and the GUI use joins them here.
"""

from __future__ import annotations

from pathlib import Path

from explorer.compute.encoding.pipeline import JOBS_DIR
from explorer.core.jobs import TaskState
from explorer.core.library import Library
from explorer.core.paths import data_home
from explorer.core.storage import CleanUp, LibraryUsage, collect, usage


def jobs_dir() -> Path:
    """Where encode jobs keep their work folders (whatever library they import into)."""
    return data_home() / JOBS_DIR


def library_usage(library: Library, state: TaskState | None = None) -> LibraryUsage:
    return usage(library, jobs_dir(), state)


def clean_up(library: Library, dry_run: bool = False,
             state: TaskState | None = None) -> CleanUp:
    return collect(library, jobs_dir(), dry_run, state)
