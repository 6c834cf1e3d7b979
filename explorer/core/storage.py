"""What the library holds on disk (`du`), and taking back what nothing needs (`gc`).

Sizes are file sizes, each file counted once however many links it has, and each
folder's own entry too, the way `du --apparent-size` counts: the total is what
`du -sb` says of the library folder (plus the encode work folders, when they live
elsewhere). Every byte under the library folder is in exactly one place of the
report: a set (its vectors, metadata, each artefact kind, the rest), a partial
folder, an encode job's work, another top-level folder (installed models, caches,
settings), or the library's own folders and lock files.

`gc` removes only what no set and no running process needs:
- partial folders whose import is gone (core/partial_folders.py: never one whose
  lock a live process holds) and the trash of removals;
- leftovers: folders holding none of a set's files, which a view computing a cache
  for a set wrote as the set was removed;
- sets an import with `replace` swapped out but was killed before deleting;
- encode work folders whose job lock nobody holds (a finished job's leftovers, or a
  cancelled or killed one, which would otherwise resume); gc takes the job's lock
  while it deletes, as a run does (compute/encoding/job_lock.py), so a run starting
  meanwhile waits and then starts afresh;
- the hidden copies of a set's metadata a metadata attach that was killed left, once
  a day old (core/metadata_attach.py);
- artefacts that are damaged (their checksum fails), or were made for other
  vectors (their vector signature is not the set's any more), and files in artefact
  folders that no record owns and that are older than a day (a younger one may
  belong to a save running now).
A set's vectors, metadata and manifest, a damaged set (the user removes those), a
concept direction and any artefact a newer version wrote are never touched, nor, ever, the
shard files of a sharded set: they are the user's, outside the library, and not counted.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from explorer.core.artifacts import ARTIFACTS_DIR, ArtifactStore
from explorer.core.errors import InputError, writing_into
from explorer.core.jobs import TaskState
from explorer.core.library import (LIBRARY_FOLDER, METADATA, VECTORS, Library, check_files,
                                   set_vectors, vectors_signature)
from explorer.core.manifest import LibraryEntry
from explorer.core.metadata_attach import LEFTOVERS
from explorer.core.partial_folders import (LOCK_FILE, PARTIAL_PREFIX, TRASH_PREFIX, UNOWNED_AGE,
                                           orphaned)

try:
    import fcntl
except ImportError:  # Windows: no flock, so no work folder is ever taken for abandoned
    fcntl = None

LOCK_SUFFIX = ".lock"  # an encode job `<key>/` is locked through `<key>.lock` beside it


@dataclass
class SetUsage:
    """The bytes of one set's folder, by what they hold."""

    id: str
    name: str
    path: str
    vectors: int = 0
    metadata: int = 0
    artefacts: dict[str, int] = field(default_factory=dict)  # by kind: index, projection ...
    other: int = 0  # the manifest, the map's last view, the folders' own entries
    total: int = 0
    note: str | None = None  # why the set cannot be opened, or that another replaced it
    replaced: bool = False  # another import replaced it: `gc` removes it


@dataclass
class FolderUsage:
    """A work folder of the library: how big it is, and whether something is using it."""

    path: str
    bytes: int
    in_use: str | None = None  # what uses it (None: nothing; `gc` removes it)


@dataclass
class LibraryUsage:
    root: str
    sets: list[SetUsage]
    partial: list[FolderUsage]  # imports being written, left by stopped ones; leftovers
    encode_work: list[FolderUsage]  # encode jobs' finished windows
    other: dict[str, int]  # other top-level folders: installed models, caches, settings
    library_files: int  # the library's own folders and lock files
    total: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Removal:
    """Something `gc` removed, or would remove with --dry-run."""

    what: str  # "partial folder", "replaced set", "encode work", "artefact", "stray file",
    #            "attach leftover"
    path: str
    bytes: int
    why: str
    set: str | None = None


@dataclass
class Kept:
    """Something that looked like garbage but is in use, and so was left alone."""

    what: str
    path: str
    why: str


@dataclass
class CleanUp:
    dry_run: bool
    removed: list[Removal] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)

    @property
    def freed(self) -> int:
        return sum(r.bytes for r in self.removed)

    def to_dict(self) -> dict:
        return {"dry_run": self.dry_run, "freed": self.freed,
                "removed": [asdict(r) for r in self.removed],
                "kept": [asdict(k) for k in self.kept]}


# --- du -----------------------------------------------------------------------------------

def human_bytes(n: float) -> str:
    """1,536 -> "1.5 KB": sizes as people read them (binary units, one decimal)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def usage(library: Library, jobs_dir: Path | None = None,
          state: TaskState | None = None) -> LibraryUsage:
    """The bytes of everything in the library, by set and by kind (see the module docstring)."""
    state = state or TaskState()
    root, sets_dir = library.root, library.sets_dir
    seen: set[tuple[int, int]] = set()
    entries, damaged = library.scan()
    replaced = library.replaced()
    notes = {d.id: f"damaged: {d.reason}" for d in damaged}
    notes.update({e.id: "replaced by a newer import; `gc` removes it" for e in replaced})
    names = {e.id: e.name for e in entries + replaced}
    for e in entries:  # the user's shard files are theirs: named, never counted
        if e.sharded and e.id not in notes:
            notes[e.id] = (f"sharded: its {len(e.shards or [])} shard files "
                           f"({human_bytes(sum(s.size for s in e.shard_records()))}) stay "
                           "outside the library and are not counted")
    sets, partial, housekeeping = [], [], 0
    children = _children(sets_dir)
    leftovers = set(library.leftovers())
    for i, path in enumerate(children):
        state.progress(i, len(children) + 1)
        if path.name.startswith(PARTIAL_PREFIX) or path in leftovers:
            partial.append(FolderUsage(str(path), _bytes(path, seen)))
        elif path.is_dir() and not path.is_symlink() and not path.name.startswith("."):
            sets.append(_set_usage(path, names.get(path.name, path.name),
                                   notes.get(path.name), seen))
            sets[-1].replaced = path.name in {e.id for e in replaced}
        else:
            housekeeping += _bytes(path, seen)  # a probe of check_writable, say
    abandoned = leftovers | (set(orphaned(sets_dir)) if sets_dir.is_dir() else set())
    for folder in partial:
        if Path(folder.path) not in abandoned:
            folder.in_use = "an import is writing it (or it is less than a day old)"
    work = _work_usage(jobs_dir, seen) if jobs_dir is not None else []
    housekeeping += _bytes(root, seen, entry_only=True)
    if jobs_dir is not None:
        housekeeping += _bytes(jobs_dir, seen, entry_only=True)
    other: dict[str, int] = {}
    for path in _children(root):
        if path in (sets_dir, jobs_dir):
            housekeeping += _bytes(path, seen, entry_only=True)
        else:
            other[path.name] = _bytes(path, seen)
    total = (sum(s.total for s in sets) + sum(p.bytes for p in partial)
             + sum(w.bytes for w in work) + sum(other.values()) + housekeeping)
    state.progress(1)
    return LibraryUsage(str(root), sorted(sets, key=lambda s: -s.total), partial, work, other,
                        housekeeping, total)


def _set_usage(folder: Path, name: str, note: str | None,
               seen: set[tuple[int, int]]) -> SetUsage:
    out = SetUsage(folder.name, name, str(folder), note=note)
    out.other = _bytes(folder, seen, entry_only=True)
    for path in _children(folder):
        if path.name == ARTIFACTS_DIR and path.is_dir() and not path.is_symlink():
            out.other += _bytes(path, seen, entry_only=True)
            for kind in _children(path):
                out.artefacts[kind.name] = _bytes(kind, seen)
        elif path.name == VECTORS:
            out.vectors += _bytes(path, seen)
        elif path.name == METADATA:
            out.metadata += _bytes(path, seen)
        else:
            out.other += _bytes(path, seen)
    out.total = out.vectors + out.metadata + sum(out.artefacts.values()) + out.other
    return out


def _work_usage(jobs_dir: Path, seen: set[tuple[int, int]]) -> list[FolderUsage]:
    out = []
    for path in _children(jobs_dir):
        if path.name.endswith(LOCK_SUFFIX) and (jobs_dir / path.name[:-len(LOCK_SUFFIX)]).exists():
            continue  # counted with its folder
        folder = jobs_dir / path.name.removesuffix(LOCK_SUFFIX)
        lock = folder.with_name(folder.name + LOCK_SUFFIX)
        size = _bytes(folder, seen) + _bytes(lock, seen)
        out.append(FolderUsage(str(folder), size, _job_running(lock)))
    return out


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _bytes(path: Path, seen: set[tuple[int, int]], entry_only: bool = False) -> int:
    """Bytes under `path` (itself included; only itself with `entry_only`), each inode once.

    Symbolic links are not followed.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return 0  # gone meanwhile
    if (st.st_dev, st.st_ino) in seen:
        return 0
    seen.add((st.st_dev, st.st_ino))
    total = st.st_size
    if not entry_only and stat.S_ISDIR(st.st_mode):
        try:
            with os.scandir(path) as it:
                names = [entry.path for entry in it]
        except OSError:
            return total
        total += sum(_bytes(Path(p), seen) for p in names)
    return total


# --- gc -----------------------------------------------------------------------------------

def collect(library: Library, jobs_dir: Path | None = None, dry_run: bool = False,
            state: TaskState | None = None) -> CleanUp:
    """Remove (or with `dry_run` only list) what no set and no running process needs."""
    state = state or TaskState()
    report = CleanUp(dry_run)
    with writing_into(library.root, LIBRARY_FOLDER):
        state.status("Looking for partial folders")
        _partial_folders(library, report)
        for entry in library.replaced():
            report.removed.append(Removal("replaced set", entry.path, _bytes(Path(entry.path),
                                          set()), "another import replaced it", entry.id))
            if not dry_run:
                try:
                    library.delete(entry)
                except InputError:
                    pass  # removed meanwhile
        if jobs_dir is not None:
            state.status("Looking for encode work")
            _encode_work(jobs_dir, report)
        entries = library.entries()
        for i, entry in enumerate(entries):
            state.status(f"Checking the artefacts of {entry.name}")
            state.progress(i, len(entries))
            _artefacts(entry, report)
            _attach_leftovers(entry, report)
    state.progress(1)
    return report


def _partial_folders(library: Library, report: CleanUp) -> None:
    if not library.sets_dir.is_dir():
        return
    gone = set(orphaned(library.sets_dir))
    for folder in _children(library.sets_dir):
        if not folder.name.startswith(PARTIAL_PREFIX):
            continue
        if folder not in gone:
            report.kept.append(Kept("partial folder", str(folder),
                                    "an import is writing it (or it is less than a day old)"))
            continue
        why = ("the rest of a removed set" if folder.name.startswith(TRASH_PREFIX) else
               "left by an import that stopped" if (folder / LOCK_FILE).exists() else
               "left by an import that stopped more than a day ago")
        report.removed.append(Removal("partial folder", str(folder), _bytes(folder, set()), why))
        if not report.dry_run:
            shutil.rmtree(folder, ignore_errors=True)
    for folder in library.leftovers():
        report.removed.append(Removal("leftovers", str(folder), _bytes(folder, set()),
                                      "caches written into a set removed meanwhile"))
        if not report.dry_run:
            shutil.rmtree(folder, ignore_errors=True)


def _encode_work(jobs_dir: Path, report: CleanUp) -> None:
    keys = sorted({p.name.removesuffix(LOCK_SUFFIX) for p in _children(jobs_dir)})
    for key in keys:
        folder, lock = jobs_dir / key, jobs_dir / f"{key}{LOCK_SUFFIX}"
        with _job_lock_if_free(lock, create=not report.dry_run) as free:
            if not free:
                report.kept.append(Kept("encode work", str(folder), _job_running(lock)
                                        or "an encoding is running"))
                continue
            size = _bytes(folder, set()) + _bytes(lock, set())
            report.removed.append(Removal(
                "encode work", str(folder), size, "no encoding runs it: finished, cancelled or "
                "stopped (running it again starts from the beginning)"))
            if not report.dry_run:
                shutil.rmtree(folder, ignore_errors=True)
                lock.unlink(missing_ok=True)  # last, while held: what job_lock's holder does


def _artefacts(entry: LibraryEntry, report: CleanUp) -> None:
    folder = Path(entry.path)
    if check_files(folder, entry):
        return  # a damaged set is the user's to remove, with all it holds
    store = ArtifactStore(folder)
    vectors = set_vectors(folder, entry)  # a sharded set's signature reads no shard
    signature = vectors_signature(vectors, folder)
    del vectors
    now = time.time()
    for kind in store.kinds():
        for key in store.recorded(kind):
            problem = store.problem(kind, key)
            meta = store.meta(kind, key) or {}
            stale = isinstance(meta.get("signature"), dict) and meta["signature"] != signature
            if not problem and not stale:
                continue
            files = [p for p in store.root.joinpath(kind).glob(f"{key}.*")
                     if p.name.split(".")[:-1] == key.split(".")]
            why = (f"damaged: {problem}" if problem else
                   "made for other vectors (the set's vectors file changed since)")
            report.removed.append(Removal("artefact", str(store.root / kind / key),
                                          sum(_bytes(p, set()) for p in files), why, entry.id))
            if not report.dry_run:
                store.delete(kind, key)
        for path in store.strays(kind):
            try:
                age = now - path.stat().st_mtime
            except OSError:
                continue
            if age < UNOWNED_AGE:
                report.kept.append(Kept("stray file", str(path), "may belong to a save running "
                                                                   "now (less than a day old)"))
                continue
            report.removed.append(Removal("stray file", str(path), _bytes(path, set()),
                                          "no artefact record owns it (a save that did not "
                                          "finish)", entry.id))
            if not report.dry_run:
                path.unlink(missing_ok=True)


def _attach_leftovers(entry: LibraryEntry, report: CleanUp) -> None:
    """The hidden tables a metadata attach killed mid-way left beside metadata.parquet."""
    now = time.time()
    for path in sorted(Path(entry.path).glob(LEFTOVERS)):
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue
        if age < UNOWNED_AGE:
            report.kept.append(Kept("attach leftover", str(path), "may belong to an attach "
                                                                  "running now (less than a day "
                                                                  "old)"))
            continue
        report.removed.append(Removal("attach leftover", str(path), _bytes(path, set()),
                                      "left by a metadata attach that stopped", entry.id))
        if not report.dry_run:
            path.unlink(missing_ok=True)


@contextmanager
def _job_lock_if_free(lock: Path, create: bool) -> Iterator[bool]:
    """Hold an encode job's lock for the block if nobody does (True), else False.

    Created when missing, as a run does, so a run starting meanwhile waits for us;
    without `create` (only looking) a missing lock file means nobody runs the job.
    """
    if fcntl is None:
        yield False
        return
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0), 0o644)
    except FileNotFoundError:
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _job_running(lock: Path) -> str | None:
    """What runs the job locked through `lock`, in the holder's own words; None when nothing."""
    with _job_lock_if_free(lock, create=False) as free:
        if free:
            return None
    try:
        holder = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        holder = {}
    if not isinstance(holder, dict):
        holder = {}
    job, pid, started = holder.get("job"), holder.get("pid"), holder.get("started")
    return ("an encoding runs" + (f" ({job})" if isinstance(job, str) else "")
            + (f" in process {pid}" if isinstance(pid, int) else "")
            + (f" since {started}" if isinstance(started, str) else ""))


__all__ = ["CleanUp", "FolderUsage", "Kept", "LibraryUsage", "Removal", "SetUsage", "collect",
           "human_bytes", "usage"]
