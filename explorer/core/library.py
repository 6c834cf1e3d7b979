"""The local library: each imported set is a folder of vectors.npy + metadata.parquet + manifest.json.

A set is written into a hidden `.partial-*` folder and renamed into place only
when every file is complete, so an interrupted import leaves nothing visible.
Reopening memory-maps the vectors, so it costs the same for 1k or 10M rows.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
import uuid
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.core.artifacts import ArtifactStore
from explorer.core.atomic import fsync_dir, write_json
from explorer.core.checks import SetReport, check_set
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.paths import data_home
from explorer.core.vector_checks import chunk_rows, release_pages

SCHEMA_VERSION = 1
VECTORS = "vectors.npy"
METADATA = "metadata.parquet"
MANIFEST = "manifest.json"
PARTIAL_PREFIX = ".partial-"
NORMS_KIND, NORMS_KEY, NORMS_FORMAT = "index", "norms", 1  # row norms, kept for neighbour search


@dataclass
class LibraryEntry:
    """What manifest.json holds; also what `list` and `import` print."""

    id: str
    name: str
    count: int
    dim: int
    dtype: str
    metric: str
    created: str
    source: list[str]
    format: str
    schema_version: int = SCHEMA_VERSION
    model: str | None = None
    vector_column: str | None = None
    id_column: str | None = None
    text_column: str | None = None
    columns: list[str] = field(default_factory=list)
    nan_rows_dropped: int = 0
    zero_rows: int = 0
    zero_rows_dropped: int = 0
    duplicate_ids: int = 0
    notes: list[str] = field(default_factory=list)
    fingerprint: dict | None = None  # source size/mtime, to recognise a re-import
    path: str = ""

    @property
    def bytes(self) -> int:
        return self.count * self.dim * 4

    def to_dict(self) -> dict:
        return asdict(self)


def fingerprint(paths: list[str]) -> dict:
    out = {}
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        out[p] = [st.st_size, st.st_mtime_ns]
    return out


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "set"


class Library:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else data_home()
        self.sets_dir = self.root / "sets"

    # --- reading -------------------------------------------------------------
    def entries(self) -> list[LibraryEntry]:
        if not self.sets_dir.is_dir():
            return []
        out = []
        for folder in sorted(self.sets_dir.iterdir()):
            if folder.name.startswith(".") or not (folder / MANIFEST).is_file():
                continue
            try:
                out.append(self._read_manifest(folder))
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                continue  # a damaged manifest hides one set, never the library
        out.sort(key=lambda e: str(e.created), reverse=True)
        return out

    def entry(self, key: str) -> LibraryEntry:
        """Find a set by id or (unique) name."""
        entries = self.entries()
        matches = {e.id: e for e in entries if e.id == key or e.name == key}
        if len(matches) == 1:
            return next(iter(matches.values()))
        if len(matches) > 1:
            raise InputError(f"several library sets are called {key!r}; use one of the ids: "
                             + ", ".join(matches))
        raise InputError(f"no library set {key!r}",
                         hint="`embedding-explorer list` shows the sets")

    def find_by_fingerprint(self, path: str) -> LibraryEntry | None:
        """The set imported from `path` whose source files (incl. joined metadata) are unchanged."""
        for e in self.entries():
            if e.source and e.source[0] == path and e.fingerprint \
                    and fingerprint(e.source) == e.fingerprint:
                return e
        return None

    def open(self, key: str) -> EmbeddingSet:
        entry = self.entry(key)
        folder = Path(entry.path)
        try:
            vectors = np.load(folder / VECTORS, mmap_mode="r")
            metadata = pq.read_table(folder / METADATA, memory_map=True)
        except (OSError, ValueError) as exc:
            raise InputError(f"library set {entry.id!r} is damaged ({exc})", path=folder) from None
        return EmbeddingSet(
            vectors=vectors, metadata=metadata, name=entry.name, format=entry.format,
            source=entry.source, metric=entry.metric, model=entry.model,
            vector_column=entry.vector_column, id_column=entry.id_column,
            text_column=entry.text_column, library_id=entry.id, path=folder, notes=entry.notes)

    def open_or_import(self, key: str, state: TaskState | None = None) -> EmbeddingSet:
        """A library id/name, or a file: reopened if imported before and unchanged, else imported."""
        from explorer.core.loaders import open_file

        path = Path(key).expanduser()
        if not path.exists():
            return self.open(key)
        state = state or TaskState()
        known = self.find_by_fingerprint(str(path.resolve()))
        if known is not None:
            return self.open(known.id)
        entry = self.import_set(open_file(path, state=state.sub(0, 0.4)), state=state.sub(0.4, 1))
        return self.open(entry.id)

    def metadata_path(self, key: str) -> Path:
        return Path(self.entry(key).path) / METADATA

    # --- writing -------------------------------------------------------------
    def import_set(self, es: EmbeddingSet, *, name: str | None = None,
                   drop_nonfinite: bool = False, drop_zero: bool = False,
                   report: SetReport | None = None,
                   state: TaskState | None = None) -> LibraryEntry:
        """Store `es` as float32 + Parquet. Rows with NaN/Inf are refused unless dropped."""
        state = state or TaskState()
        if report is None:
            state.status("Checking vectors")
            report = check_set(es, state.sub(0.0, 0.3))
        scan = report.scan
        if scan.nan_rows and not drop_nonfinite:
            r, c = scan.first_nonfinite or (None, None)
            raise InputError(f"{scan.nan_rows} rows hold NaN or Inf values "
                             f"(first at dimension {c})",
                             path=es.source[0] if es.source else None, row=r,
                             hint="drop them with --drop-nonfinite (the GUI offers the same)")
        drop = np.zeros(0, dtype=np.int64)
        if drop_nonfinite:
            drop = np.union1d(drop, scan.nonfinite_rows)
        if drop_zero:
            drop = np.union1d(drop, scan.zero_rows)
        keep_mask = np.ones(es.count, dtype=bool)
        keep_mask[drop] = False
        n_keep = int(keep_mask.sum())
        if n_keep == 0:
            raise InputError("no rows are left after dropping the invalid ones",
                             path=es.source[0] if es.source else None)

        self.sets_dir.mkdir(parents=True, exist_ok=True)
        self._clean_partials()
        name = name or es.name
        set_id = self._unique_id(slugify(name))
        tmp = self.sets_dir / f"{PARTIAL_PREFIX}{set_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            state.status("Writing vectors")
            self._write_vectors(tmp / VECTORS, es.vectors, keep_mask, n_keep, state.sub(0.3, 0.9))
            if scan.norms is not None:  # spares neighbour search a second pass
                _write_norms(tmp, scan.norms[keep_mask] if len(drop) else scan.norms)
            state.status("Writing metadata")
            meta = es.metadata
            if len(drop):
                keep = np.flatnonzero(keep_mask)
                meta = meta.take(pa.array(keep))
                if "source_row" not in meta.column_names:
                    meta = meta.append_column("source_row", pa.array(keep, type=pa.int64()))
            _write_metadata(tmp / METADATA, meta)
            state.progress(0.95)
            entry = LibraryEntry(
                id=set_id, name=name, count=n_keep, dim=es.dim, dtype="float32",
                metric=es.metric, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                source=list(es.source), format=es.format, model=es.model,
                vector_column=es.vector_column, id_column=es.id_column,
                text_column=es.text_column, columns=list(meta.column_names),
                nan_rows_dropped=scan.nan_rows if drop_nonfinite else 0,
                zero_rows=0 if drop_zero else scan.n_zero_rows,
                zero_rows_dropped=scan.n_zero_rows if drop_zero else 0,
                duplicate_ids=report.duplicate_ids,
                notes=list(es.notes), fingerprint=fingerprint(es.source) or None)
            manifest = entry.to_dict()
            manifest.pop("path")
            write_json(tmp / MANIFEST, manifest)
            state.check()  # the last moment a cancel can stop the import
            final = self._commit(tmp, entry)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        entry.path = str(final)
        return entry

    def remove(self, key: str) -> LibraryEntry:
        entry = self.entry(key)
        folder = Path(entry.path)
        trash = self.sets_dir / f"{PARTIAL_PREFIX}removed-{uuid.uuid4().hex[:8]}"
        os.rename(folder, trash)  # disappears atomically, then is deleted
        shutil.rmtree(trash, ignore_errors=True)
        return entry

    # --- internals -----------------------------------------------------------
    @staticmethod
    def _write_vectors(path: Path, vectors: np.ndarray, keep: np.ndarray, n_keep: int,
                       state: TaskState) -> None:
        """Stream float32 rows into a .npy with plain writes.

        Writing through a file handle (not a writable memory map) keeps the
        destination in the page cache instead of this process's RSS, and pages
        of a memory-mapped source are released after each chunk.
        """
        n, d = vectors.shape
        step = chunk_rows(d)
        all_kept = n_keep == n
        with open(path, "wb") as fh:
            np.lib.format.write_array_header_2_0(
                fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                     "fortran_order": False, "shape": (n_keep, d)})
            for start in range(0, n, step):
                chunk = np.asarray(vectors[start:start + step])
                if not all_kept:
                    chunk = chunk[keep[start:start + step]]
                fh.write(np.ascontiguousarray(chunk, dtype=np.float32).data)
                release_pages(vectors)
                state.progress(min(n, start + step), n)
            fh.flush()
            os.fsync(fh.fileno())

    def _commit(self, tmp: Path, entry: LibraryEntry) -> Path:
        """Rename the finished folder into place; if another import took the id, take the next."""
        base = entry.id
        for _attempt in range(100):
            final = self.sets_dir / entry.id
            try:
                os.rename(tmp, final)  # fails rather than merging into an existing folder
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                entry.id = self._unique_id(base)
                manifest = entry.to_dict()
                manifest.pop("path")
                write_json(tmp / MANIFEST, manifest)
                continue
            fsync_dir(self.sets_dir)
            return final
        raise InputError(f"could not find a free id for {base!r} in the library")

    def _unique_id(self, base: str) -> str:
        candidate, i = base, 2
        while (self.sets_dir / candidate).exists():
            candidate, i = f"{base}-{i}", i + 1
        return candidate

    def _clean_partials(self, older_than: float = 24 * 3600) -> None:
        """Remove leftovers of imports that were killed (not ones running now)."""
        now = time.time()
        for folder in self.sets_dir.glob(PARTIAL_PREFIX + "*"):
            try:
                if now - folder.stat().st_mtime > older_than:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                pass

    @staticmethod
    def _read_manifest(folder: Path) -> LibraryEntry:
        with open(folder / MANIFEST, encoding="utf-8") as fh:
            data = json.load(fh)
        if not isinstance(data, dict):
            raise ValueError("manifest is not an object")
        if data.get("schema_version", 0) > SCHEMA_VERSION:
            raise ValueError("manifest from a newer version")
        known = {f for f in LibraryEntry.__dataclass_fields__}
        entry = LibraryEntry(**{k: v for k, v in data.items() if k in known})
        entry.path = str(folder)
        if not isinstance(entry.id, str) or not isinstance(entry.name, str):
            raise ValueError("manifest id/name are not text")
        entry.count, entry.dim = int(entry.count), int(entry.dim)
        return entry


def vectors_signature(vectors: np.ndarray, folder: Path | None) -> dict:
    """What derived data (norms, indexes) was computed from: shape, file size/mtime, sampled rows."""
    n, d = vectors.shape
    sig: dict = {"count": int(n), "dim": int(d)}
    if folder is not None:
        try:
            st = (Path(folder) / VECTORS).stat()
            sig.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
        except OSError:
            pass
    rows = np.unique(np.linspace(0, n - 1, num=min(n, 64)).astype(np.int64))
    sig["sample_crc"] = zlib.crc32(np.ascontiguousarray(vectors[rows], dtype=np.float32).tobytes())
    return sig


def _write_norms(folder: Path, norms: np.ndarray) -> None:
    """Store the norms found by the import scan where neighbour search looks for them."""
    vectors = np.load(folder / VECTORS, mmap_mode="r")
    ArtifactStore(folder).save(NORMS_KIND, NORMS_KEY, norms.astype(np.float32),
                               {"signature": vectors_signature(vectors, folder),
                                "format": NORMS_FORMAT})
    del vectors


def _write_metadata(path: Path, table: pa.Table) -> None:
    """Parquet through our own handle, so it can be fsynced before the set becomes visible."""
    try:
        with open(path, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"the metadata cannot be stored as Parquet ({exc})",
                         hint="drop or convert the column it names") from None
