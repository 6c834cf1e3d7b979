"""The thumbnail job: every row's image made small, into one cache file (store.py).

Rows go in batches to a small thread pool (Pillow releases the GIL while it reads, decodes,
resizes and encodes, so two threads use two cores); progress is reported and Cancel is
checked between batches. The job is resumable: a cancelled run saves what it made (the other
rows stay "pending"), a long run saves now and then, and a later run keeps every row whose
source is unchanged (same path text and file size + mtime, or same bytes) and makes only
the others, so a changed source is remade and an unchanged cache costs one stat a row.
`open_thumbnails` gives the cache only while it is current: the set's metadata file is the
one it was made from and a sample of its files is unchanged (a full check is the job's).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from explorer.compute.thumbnails import store as st
from explorer.compute.thumbnails.decode import BadImage, thumbnail_jpeg
from explorer.compute.thumbnails.source import (
    ImageSource,
    Unreadable,
    check_source,
    column_values,
    file_stamp,
    locate,
    read_file,
    value_key,
)
from explorer.core.artifacts import ArtifactStore, safe_key
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import METADATA

DECODER = 1  # bump when thumbnails would come out differently: every cache is then remade
BATCH = 128
SIZES = (16, 1024)
CHECKPOINT_SECONDS = 30.0  # a killed run loses at most about this much work
SAMPLE_CHECK = 24  # files stat'ed when a cache is opened
PROBLEMS = 10  # kinds of problem reported, each with its first row and its count


@dataclass
class ThumbnailReport:
    """What a run left in the cache (`made`: rows with a thumbnail) and what it did (`new`)."""

    count: int
    made: int
    missing: int  # no value, no such file, or outside the root (`outside` of them)
    broken: int
    urls: int
    seconds: float
    bytes: int
    pending: int = 0
    outside: int = 0
    new: int = 0  # thumbnails made by this run (the others were kept from an earlier one)
    column: str = ""
    kind: str = ""
    root: str | None = None
    size: int = 128
    cache: str = ""
    problems: list[dict] = field(default_factory=list)  # {"reason", "status", "row", "rows"}

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Outcome:
    """One row's result: a status code, what its source was, and its JPEG (or why none)."""

    status: int
    origin: int = st.NO_ORIGIN
    key: int = 0
    size: int = 0
    mtime: int = 0
    jpeg: bytes | None = None
    reason: str = ""
    kept: bool = False  # the earlier cache's record still holds: take it from there


def cache_key(source: ImageSource, root: str | None, size: int) -> str:
    """The artefact key: the column (readable) and a digest of everything the cache depends on."""
    what = json.dumps([source.column, source.kind, root, size, DECODER])
    digest = hashlib.blake2b(what.encode(), digest_size=8).hexdigest()
    return f"{safe_key(source.column)[:60]}-{size}-{digest}"


def metadata_stamp(folder: Path) -> list[int]:
    try:
        info = os.stat(folder / METADATA)
    except OSError:
        return []
    return [info.st_size, info.st_mtime_ns]


def make_one(value: object, old: np.void | None, root: str | None, size: int) -> Outcome:
    """One row's outcome (runs on a pool thread; never raises for a bad image or file)."""
    if value is None:
        return Outcome(st.MISSING, reason="no value")
    if isinstance(value, bytes):
        key = value_key(value)
        if _holds(old, st.FROM_BYTES, key, len(value), 0):
            return Outcome(int(old["status"]), st.FROM_BYTES, key, len(value), kept=True)
        return _decode(value, Outcome(st.OK, st.FROM_BYTES, key, len(value)), size)
    value = str(value)
    key = value_key(value)
    if root is None:
        return Outcome(st.MISSING, key=key, reason="a path, and no image root to find it in")
    real = locate(value, root)
    if isinstance(real, Unreadable):
        return Outcome(st.CODES[real.status], key=key, reason=real.reason)
    stamp = file_stamp(real)
    if isinstance(stamp, Unreadable):
        return Outcome(st.CODES[stamp.status], key=key, reason=stamp.reason)
    if _holds(old, st.FROM_FILE, key, *stamp):
        return Outcome(int(old["status"]), st.FROM_FILE, key, *stamp, kept=True)
    found = read_file(real)
    if isinstance(found, Unreadable):
        return Outcome(st.CODES[found.status], key=key, reason=found.reason)
    return _decode(found.data, Outcome(st.OK, st.FROM_FILE, key, found.size, found.mtime_ns),
                   size)


def _holds(old: np.void | None, origin: int, key: int, size: int, mtime: int) -> bool:
    """Whether the earlier cache's record is for this very source (kept: made, or broken)."""
    return (old is not None and int(old["status"]) in (st.OK, st.BROKEN)
            and int(old["origin"]) == origin and int(old["key"]) == key
            and int(old["size"]) == size and int(old["mtime"]) == mtime)


def _decode(data: bytes, outcome: Outcome, size: int) -> Outcome:
    try:
        outcome.jpeg = thumbnail_jpeg(data, size)
    except BadImage as exc:
        outcome.status, outcome.reason = st.BROKEN, str(exc)
    return outcome


def make_thumbnails(emb_set: EmbeddingSet, source: ImageSource, state: TaskState,
                    size: int = 128, workers: int | None = None) -> ThumbnailReport:
    """Make (or bring up to date) the thumbnail cache of `source`; see the module docstring.

    `workers`: threads decoding at once (default: the cores, at most 4). Cancelled (or ^C) is
    raised once the work so far is saved.
    """
    started = time.perf_counter()
    folder = _library_folder(emb_set)
    if not SIZES[0] <= size <= SIZES[1]:
        raise InputError(f"a thumbnail size of {size} pixels is not in {SIZES[0]}..{SIZES[1]}",
                         option="size")
    root = check_source(emb_set, source)
    artifacts = ArtifactStore(folder)
    key = cache_key(source, root, size)
    old = open_cache(emb_set, source, current=False, root=root, size=size)
    run = _Run(emb_set, source, root, size, old)
    meta = {"column": source.column, "kind": source.kind, "root": root, "size": size,
            "metadata": metadata_stamp(folder), "decoder": DECODER}
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    (artifacts.root / st.KIND).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=artifacts.root / st.KIND) as blobs, \
            ThreadPoolExecutor(workers, thread_name_prefix="thumbnails") as pool:
        state.status(f"Making thumbnails of {source.column!r}")
        try:
            run.all(pool, blobs, state, lambda: st.save_store(
                artifacts, key, run.index, blobs, dict(meta, complete=False,
                                                       reasons=run.reason_list)))
        except (Cancelled, KeyboardInterrupt):
            pool.shutdown(cancel_futures=True)
            if run.done:
                st.save_store(artifacts, key, run.index, blobs,
                              dict(meta, complete=False, reasons=run.reason_list))
            raise
        unchanged = (old is not None and old.meta.get("complete") and not run.changed
                     and old.meta.get("metadata") == meta["metadata"])
        path = old.path if unchanged else st.save_store(
            artifacts, key, run.index, blobs, dict(meta, complete=True, reasons=run.reason_list))
    counts = st.status_counts(run.index["status"])
    return ThumbnailReport(
        count=emb_set.count, made=counts["ok"], missing=counts["missing"],
        broken=counts["broken"], urls=counts["url"], pending=counts["pending"],
        outside=int(np.count_nonzero(run.index["status"] == st.OUTSIDE)),
        seconds=round(time.perf_counter() - started, 3), bytes=os.path.getsize(path),
        new=run.new, column=source.column, kind=source.kind, root=root, size=size,
        cache=str(path), problems=run.problems)


class _Run:
    """One run's state: the new index, what it made, where it is."""

    def __init__(self, emb_set: EmbeddingSet, source: ImageSource, root: str | None, size: int,
                 old: st.ThumbnailStore | None) -> None:
        self.emb_set, self.source, self.root, self.size, self.old = emb_set, source, root, size, old
        self.index = st.empty_index(emb_set.count)
        self.done = 0  # rows 0..done have their outcome
        self.new = 0
        self.changed = False
        self.reasons: dict[str, dict] = {}  # the report's problems, by reason
        self.codes: dict[str, int] = {}  # reason -> its number in the index (from 1)

    def all(self, pool: ThreadPoolExecutor, blobs, state: TaskState, checkpoint) -> None:
        """Every row, two batches in flight so the pool never waits for this thread."""
        n = self.emb_set.count
        starts = deque(range(0, n, BATCH))
        flight: deque[tuple[int, list[Future]]] = deque()
        last_save, save_cost = time.monotonic(), 0.0
        while starts or flight:
            while starts and len(flight) < 2:
                start = starts.popleft()
                flight.append((start, self._submit(pool, start, min(n, start + BATCH))))
            start, futures = flight.popleft()
            for row, future in enumerate(futures, start):
                self._record(row, future.result(), blobs)
            self.done = start + len(futures)
            state.progress(self.done, n)
            if time.monotonic() - last_save >= max(CHECKPOINT_SECONDS, 4 * save_cost):
                began = time.monotonic()
                checkpoint()
                last_save, save_cost = time.monotonic(), time.monotonic() - began

    def _submit(self, pool: ThreadPoolExecutor, start: int, stop: int) -> list[Future]:
        values = column_values(self.emb_set, self.source, start, stop)
        olds = ([None] * (stop - start) if self.old is None
                else list(self.old.index[start:stop]))
        return [pool.submit(make_one, v, o, self.root, self.size) for v, o in zip(values, olds)]

    def _record(self, row: int, out: Outcome, blobs) -> None:
        rec = self.index[row]
        rec["status"], rec["origin"], rec["key"] = out.status, out.origin, out.key
        rec["size"], rec["mtime"] = out.size, out.mtime
        jpeg = out.jpeg
        if out.kept:
            jpeg = self.old.get(row) if out.status == st.OK else None
        elif jpeg is not None or not self._as_before(row, out):
            self.changed = True
        if out.status == st.OK and jpeg is not None:
            rec["start"], rec["length"] = blobs.tell(), len(jpeg)
            blobs.write(jpeg)
            self.new += not out.kept
        elif out.status == st.OK:  # the earlier cache lost it (cannot happen when intact)
            rec["status"], self.changed = st.BROKEN, True
        reason = out.reason
        if out.kept and out.status != st.OK:
            reason = self.old.reason(row) or ""
        if reason and (reason in self.codes or len(self.codes) < st.MAX_REASONS):
            rec["reason"] = self.codes.setdefault(reason, len(self.codes) + 1)
        if out.status not in (st.OK, st.URL):
            reason = reason or st.STATUS[out.status]
            if reason in self.reasons:
                self.reasons[reason]["rows"] += 1
            elif len(self.reasons) < PROBLEMS:
                self.reasons[reason] = {"reason": reason, "status": st.STATUS[out.status],
                                        "row": row, "rows": 1}

    @property
    def reason_list(self) -> list[str]:
        """The reasons the index numbers, in order (stored in the cache's record)."""
        return list(self.codes)

    @property
    def problems(self) -> list[dict]:
        """Each kind of problem met (the first PROBLEMS kinds): its first row and how many."""
        return list(self.reasons.values())


    def _as_before(self, row: int, out: Outcome) -> bool:
        """Whether a row without a thumbnail has the record it had in the earlier cache."""
        if self.old is None:
            return False
        rec = self.old.index[row]
        return (int(rec["status"]), int(rec["origin"]), int(rec["key"])) == (
            out.status, out.origin, out.key)


def _library_folder(emb_set: EmbeddingSet) -> Path:
    if emb_set.path is None:
        raise InputError("thumbnails are kept with a library set, and this set is not stored",
                         hint="import it first (`embedding-explorer import FILE`)")
    return Path(emb_set.path)


def open_cache(emb_set: EmbeddingSet, source: ImageSource, *, current: bool = True,
               root: str | None = None, size: int = 128) -> st.ThumbnailStore | None:
    """The cache of `source` at `size`; with `current`, only if its sources are unchanged."""
    if emb_set.path is None:
        return None
    folder = Path(emb_set.path)
    if root is None:
        try:
            root = check_source(emb_set, source)
        except InputError:
            return None
    store = st.open_store(ArtifactStore(folder), cache_key(source, root, size))
    if store is None or store.count != emb_set.count:
        return None
    if current and (store.meta.get("metadata") != metadata_stamp(folder)
                    or not _sample_unchanged(emb_set, source, root, store)):
        return None
    return store


def _sample_unchanged(emb_set: EmbeddingSet, source: ImageSource, root: str | None,
                      store: st.ThumbnailStore) -> bool:
    """Whether a spread sample of file rows still has the size and mtime they were made from."""
    rows = np.unique(np.linspace(0, store.count - 1, num=min(store.count, SAMPLE_CHECK),
                                 dtype=np.int64))
    for row in rows:
        rec = store.index[row]
        if int(rec["origin"]) != st.FROM_FILE or root is None:
            continue
        value = column_values(emb_set, source, int(row), int(row) + 1)[0]
        real = locate(str(value), root) if isinstance(value, str) else None
        stamp = file_stamp(real) if isinstance(real, str) else None
        if stamp != (int(rec["size"]), int(rec["mtime"])):
            return False
    return True
