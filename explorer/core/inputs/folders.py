"""The user's paths as a sorted list of files: folders walked recursively, hidden entries
left out, every folder and file visited once even where symlinks make loops."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from explorer.core.errors import InputError
from explorer.core.inputs.items import Skipped


@dataclass
class Found:
    path: Path  # absolute, symlinks kept, so sources read as the user sees them
    source: str  # relative to the folder holding all inputs, "/"-separated
    how: str  # "given" (named by the user), "pattern" (matched theirs) or "type" (by extension)


def collect(paths: list[str | Path], pattern: str | None,
            suffixes: tuple[str, ...]) -> tuple[list[Found], list[Skipped]]:
    """Files in order: the given paths in turn, each folder's files sorted by path."""
    given = [Path(p).expanduser().absolute() for p in paths]
    if not given:
        raise InputError("no input files or folders given")
    for path in given:
        if not path.exists():
            raise InputError("no such file or folder", path=path)
    root = Path(os.path.commonpath([p.parent for p in given]))
    match = _matcher(pattern, suffixes)
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    found: list[Found] = []
    skipped: list[Skipped] = []
    for path in given:
        files = _walk(path, match, seen_dirs, skipped) if path.is_dir() else iter([path])
        for file in files:
            key = _identity(file)
            if key not in seen_files:
                seen_files.add(key)
                how = "type" if pattern is None else "pattern"
                found.append(Found(file, Path(os.path.relpath(file, root)).as_posix(),
                                   how if path.is_dir() else "given"))
    return found, skipped


def _matcher(pattern: str | None, suffixes: tuple[str, ...]) -> Callable[[str], bool]:
    """Matches file names, ignoring case; a pattern may list several globs: "*.md,*.txt"."""
    if pattern is None:
        return lambda name: name.lower().endswith(suffixes)
    globs = [g.strip().lower().removeprefix("**/") for g in pattern.split(",") if g.strip()]
    return lambda name: any(fnmatchcase(name.lower(), g) for g in globs)


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


def _walk(folder: Path, match: Callable[[str], bool], seen: set[tuple[int, int]],
          skipped: list[Skipped]) -> Iterator[Path]:
    key = _identity(folder)
    if key in seen:  # a symlink back up the tree, or a folder given twice
        return
    seen.add(key)
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        skipped.append(Skipped(str(folder), f"cannot list the folder ({exc.strerror or exc})"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()  # follows symlinks; the identity check stops loops
            is_file = not is_dir and entry.is_file()
        except OSError:
            continue
        if is_dir:
            yield from _walk(Path(entry.path), match, seen, skipped)
        elif is_file and match(entry.name):
            yield Path(entry.path)
