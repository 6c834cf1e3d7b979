"""The local library: each imported set is a folder of vectors.npy + metadata.parquet + manifest.json.

A set is written into a hidden `.partial-*` folder (core/partial_folders.py) and
renamed into place only when every file is complete, so an interrupted import
leaves nothing visible, and the next import deletes what a killed one left.
Reopening memory-maps the vectors, so it costs the same for 1k or 10M rows; it
first checks what can be checked without reading the data (the manifest's
fields, the .npy header against the file's size, the Parquet footer's row
count), so a damaged set is named with what is wrong when it is opened, not
met later as a traceback. `scan` lists damaged sets beside the good ones, so
they can be seen and removed.

Importing a file already stored, unchanged, with the same options
(core/import_options.py) gives the stored set back instead of a second copy. Names
are unique (core/set_names.py); `--replace` swaps a set for a new import by
committing the new one with a `replaces` mark, which hides the old one at once,
then deleting the old one (or `gc`, if the process dies first).
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.core.artifacts import ArtifactStore
from explorer.core.atomic import fsync_dir, write_json
from explorer.core.checks import SetReport, check_set
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError, writing_into
from explorer.core.import_options import ImportOptions
from explorer.core.jobs import TaskState
from explorer.core.label_columns import check_label_column, guess_label_column
from explorer.core.manifest import MANIFEST, DamagedSet, LibraryEntry
from explorer.core.model_check import ModelCheck
from explorer.core.npy_files import read_header
from explorer.core.partial_folders import TRASH_PREFIX, partial_folder, release, sweep
from explorer.core.paths import data_home
from explorer.core.set_names import (REPLACE_HINT, ambiguous_error, choose, holder, names_lock,
                                     taken_error)
from explorer.core.sharded import ShardedVectors
from explorer.core.vector_checks import chunk_rows, release_pages

VECTORS = "vectors.npy"
METADATA = "metadata.parquet"
NORMS_KIND, NORMS_KEY, NORMS_FORMAT = "index", "norms", 1  # row norms, kept for neighbour search
LIBRARY_FOLDER = "the library folder"


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
    def scan(self, read_files: bool = False) -> tuple[list[LibraryEntry], list[DamagedSet]]:
        """Every set folder: the readable sets (newest first) and the damaged ones, with why.

        The manifests are always read; `read_files` also reads each set's
        .npy header and Parquet footer (what `list` shows, a few reads a set). A set
        another one replaced is not listed (see `replaced`).
        """
        entries, damaged = self._scan_all(read_files)
        gone = _replaced_marks(entries)
        return [e for e in entries if (e.id, e.created) not in gone], damaged

    def replaced(self) -> list[LibraryEntry]:
        """Sets an import with `replace` swapped out but did not get to delete (it was killed)."""
        entries = self._scan_all(False)[0]
        gone = _replaced_marks(entries)
        return [e for e in entries if (e.id, e.created) in gone]

    def leftovers(self) -> list[Path]:
        """Folders that hold none of a set's own files: caches a view wrote into a set that was
        removed while it computed them. Not sets, not listed; `gc` removes them."""
        if not self.sets_dir.is_dir():
            return []
        return [f for f in sorted(self.sets_dir.iterdir())
                if not f.name.startswith(".") and f.is_dir() and _leftover(f)]

    def _scan_all(self, read_files: bool) -> tuple[list[LibraryEntry], list[DamagedSet]]:
        if not self.sets_dir.is_dir():
            return [], []
        entries, damaged = [], []
        for folder in sorted(self.sets_dir.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir() or _leftover(folder):
                continue
            try:
                entry = read_manifest(folder)
            except ValueError as exc:
                damaged.append(DamagedSet(folder.name, str(folder), str(exc)))
                continue
            problem = check_files(folder, entry) if read_files else None
            if problem:
                damaged.append(DamagedSet(folder.name, str(folder), problem))
            else:
                entries.append(entry)
        entries.sort(key=lambda e: e.created, reverse=True)
        return entries, damaged

    def entries(self) -> list[LibraryEntry]:
        return self.scan()[0]

    def entry(self, key: str) -> LibraryEntry:
        """Find a set by id or (unique) name; a damaged one is named with what is wrong."""
        found = self._find(key)
        if isinstance(found, DamagedSet):
            raise _damaged(found.id, found.path, found.reason)
        return found

    def _find(self, key: str) -> LibraryEntry | DamagedSet:
        entries, damaged = self.scan()
        matches = [e for e in entries if e.id == key or e.name == key]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ambiguous_error(key, matches)
        for d in damaged:
            if d.id == key:
                return d
        raise InputError(f"no library set {key!r}",
                         hint="`embedding-explorer list` shows the sets")

    def find_by_fingerprint(self, path: str) -> LibraryEntry | None:
        """The set imported from `path` whose source files (incl. joined metadata) are unchanged."""
        for e in self.entries():
            if _unchanged(e, path):
                return e
        return None

    def find_reusable(self, path: str | Path, options: ImportOptions,
                      name: str | None = None) -> LibraryEntry | None:
        """The stored set an import of `path` with `options` would copy again, if there is one.

        With a `name`, only a set of that name: asking for another name asks for a set
        that can be called so, which the stored one cannot be.
        """
        path = str(Path(path).expanduser().resolve())
        options = options.resolved()
        for e in self.entries():
            if _unchanged(e, path) and options.reuses(e) and name in (None, e.name):
                e.reused = True
                return e
        return None

    def open(self, key: str) -> EmbeddingSet:
        entry = self.entry(key)
        folder = Path(entry.path)
        problem = check_files(folder, entry)
        if problem:
            raise _damaged(entry.id, folder, problem)
        if entry.sharded:
            from explorer.core.shard_import import open_sharded

            return open_sharded(entry, folder)
        try:
            vectors = np.load(folder / VECTORS, mmap_mode="r")
            # one open of the file, mapped: a table an attach renames over it meanwhile is
            # read whole, old or new (reading it by path may open it twice, and mix the two)
            metadata = pq.read_table(pa.memory_map(str(folder / METADATA)))
            # a manifest naming a column the metadata lacks (hand-edited, or written by an
            # attach killed between its two renames) names nothing, rather than failing later
            present = set(metadata.column_names)
            id_col, text_col, label_col = (c if c in present else None for c in
                                           (entry.id_column, entry.text_column,
                                            entry.label_column))
            return EmbeddingSet(
                vectors=vectors, metadata=metadata, name=entry.name, format=entry.format,
                source=entry.source, metric=entry.metric, model=entry.model,
                vector_column=entry.vector_column, id_column=id_col,
                text_column=text_col, label_column=label_col,
                model_check=entry.check, library_id=entry.id, path=folder, notes=entry.notes)
        except (OSError, ValueError, pa.ArrowException) as exc:  # changed since it was checked
            raise _damaged(entry.id, folder, str(exc)) from None

    def open_or_import(self, key: str, state: TaskState | None = None) -> EmbeddingSet:
        """A library id/name, or a file: reopened if imported before and unchanged, else imported."""
        path = Path(key).expanduser()
        if not path.exists():
            return self.open(key)
        return self.open(self.import_file(path, state=state).id)

    def metadata_path(self, key: str) -> Path:
        return Path(self.entry(key).path) / METADATA

    # --- writing -------------------------------------------------------------
    def import_file(self, path: str | Path, options: ImportOptions = ImportOptions(), *,
                    name: str | None = None, new: bool = False, replace: bool = False,
                    prepare: Callable[[EmbeddingSet, TaskState], None] | None = None,
                    state: TaskState | None = None) -> LibraryEntry:
        """Store the file at `path` read with `options`; see `import_set` for the rest.

        An unchanged file stored before with the same options (and the same name, if
        one is given) is not read at all: its set comes back (`reused` is set), unless
        `new` asks for another copy. `prepare` sees the set once it is read, before
        anything is written: the model check (compute/encoding/model_check.py) runs
        there and may refuse the import.
        """
        from explorer.core.loaders import open_file

        state = state or TaskState()
        options = options.resolved()
        if not new:
            known = self.find_reusable(path, options, name)
            if known is not None:
                return known
        if name is not None:
            self.check_name(name, replace)  # before the file is read, not after
        es = open_file(path, options.load_options(), state.sub(0, 0.3))
        options.apply(es)
        if prepare is not None:
            prepare(es, state.sub(0.3, 0.4))
        return self.import_set(es, name=name, drop_nonfinite=options.drop_nonfinite,
                               drop_zero=options.drop_zero, options=options, new=new,
                               replace=replace, state=state.sub(0.4, 1))

    def import_set(self, es: EmbeddingSet, *, name: str | None = None,
                   drop_nonfinite: bool = False, drop_zero: bool = False,
                   report: SetReport | None = None, options: ImportOptions | None = None,
                   new: bool = False, replace: bool = False,
                   state: TaskState | None = None) -> LibraryEntry:
        """Store `es` as float32 + Parquet. Rows with NaN/Inf are refused unless dropped.

        `options` says how `es` was read from its file (its drop flags are the
        arguments'); with them, an unchanged file stored before the same way (under
        `name`, if given) is given back (`reused`), unless `new`. A `name` another
        set has is refused unless `replace`: then that set goes once this one is in
        place. Without a name the set's own is used, made unique (core/set_names.py).
        """
        state = state or TaskState()
        if options is not None:
            options = dataclasses.replace(options.resolved(), drop_nonfinite=drop_nonfinite,
                                          drop_zero=drop_zero)
            known = None if new or not es.source else self.find_reusable(es.source[0], options,
                                                                         name)
            if known is not None:
                return known
        if name is not None:
            self.check_name(name, replace)  # before the writing, not after it
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

        recorded = None if options is None else options.happened(scan.nan_rows, scan.n_zero_rows)

        def write(tmp: Path) -> LibraryEntry:
            state.status("Writing vectors")
            self._write_vectors(tmp / VECTORS, es.vectors, keep_mask, n_keep, state.sub(0.3, 0.9))
            if scan.norms is not None:  # spares neighbour search a second pass
                vectors = np.load(tmp / VECTORS, mmap_mode="r")
                write_norms(tmp, vectors, scan.norms[keep_mask] if len(drop) else scan.norms)
                del vectors
            state.status("Writing metadata")
            meta = es.metadata
            if len(drop):
                keep = np.flatnonzero(keep_mask)
                meta = meta.take(pa.array(keep))
                if "source_row" not in meta.column_names:
                    meta = meta.append_column("source_row", pa.array(keep, type=pa.int64()))
            write_metadata(tmp / METADATA, meta)
            state.progress(0.95)
            return LibraryEntry(
                id="", name=name or es.name, count=n_keep, dim=es.dim,
                dtype="float32", metric=es.metric,
                created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                source=list(es.source), format=es.format, model=es.model,
                vector_column=es.vector_column, id_column=es.id_column,
                text_column=es.text_column,
                label_column=es.label_column or guess_label_column(meta, es.id_column,
                                                                   es.text_column),
                model_check=None if es.model_check is None
                else es.model_check.to_manifest(),
                columns=list(meta.column_names),
                nan_rows_dropped=scan.nan_rows if drop_nonfinite else 0,
                zero_rows=0 if drop_zero else scan.n_zero_rows,
                zero_rows_dropped=scan.n_zero_rows if drop_zero else 0,
                duplicate_ids=report.duplicate_ids,
                notes=list(es.notes), fingerprint=fingerprint(es.source) or None,
                import_options=None if recorded is None else recorded.to_manifest())

        return self.store_new(write, name=name, base=es.name, options=recorded, new=new,
                              replace=replace, state=state)

    def store_new(self, write: Callable[[Path], LibraryEntry], *, name: str | None, base: str,
                  options: ImportOptions | None, new: bool, replace: bool,
                  state: TaskState) -> LibraryEntry:
        """Make a set: `write(tmp)` writes its files into a partial folder and returns its
        entry; the folder is then renamed into place under a free name (see `import_set`)."""
        with writing_into(self.sets_dir, LIBRARY_FOLDER):
            self.sets_dir.mkdir(parents=True, exist_ok=True)
            sweep(self.sets_dir)  # what killed imports left, before taking more room
            with partial_folder(self.sets_dir, slugify(name or base)) as tmp:
                entry = write(tmp)
                state.check()  # the last moment a cancel can stop the import
                release(tmp)
                with names_lock(self.sets_dir):
                    choice = choose(self.entries(), name, base, source=entry.source,
                                    format=entry.format, options=options, new=new,
                                    replace=replace)
                    entry.name = choice.name
                    if choice.replaced is not None:
                        entry.replaces = {"id": choice.replaced.id,
                                          "created": choice.replaced.created}
                    final = self._commit(tmp, entry, choice.superseded, choice.older_name)
            if choice.replaced is not None:
                try:
                    self.delete(choice.replaced)
                except InputError:
                    pass  # gone already (removed by another process), or left for `gc`
        entry.path = str(final)
        return entry

    def check_name(self, name: str, replace: bool = False) -> None:
        """Refuse a name another set has (its name or id), unless it is to be replaced."""
        owner = holder(self.entries(), name)
        if owner is not None and not (replace and owner.name == name):
            raise taken_error(name, owner, REPLACE_HINT)

    def rename(self, key: str, name: str) -> LibraryEntry:
        """Give a set another name, unless another set has it (as its name or its id)."""
        name = name.strip()
        if not name:
            raise InputError("a set's name cannot be empty")
        with writing_into(self.sets_dir, LIBRARY_FOLDER), names_lock(self.sets_dir):
            entry = self.entry(key)
            owner = holder(self.entries(), name, but=entry.id)
            if owner is not None:
                raise taken_error(name, owner, "choose another name")
            write_fields(Path(entry.path), name=name)
        entry.name = name
        return entry

    def set_model(self, key: str, model: str | None, check: ModelCheck | None) -> LibraryEntry:
        """Record which model made a set's vectors and how that was checked (None: forget it).

        The check itself is compute's (compute/encoding/model_check.py `set_library_model`);
        this only rewrites the manifest, atomically, keeping every other key.
        """
        with writing_into(self.sets_dir, LIBRARY_FOLDER), names_lock(self.sets_dir):
            entry = self.entry(key)  # the lock: no rename's rewrite of the manifest between
            recorded = None if check is None else check.to_manifest()
            write_fields(Path(entry.path), model=model, model_check=recorded)
        entry.model, entry.model_check = model, recorded
        return entry

    def set_label_column(self, key: str, column: str | None) -> LibraryEntry:
        """Call a set's items by `column` (None: by the id column, else the text column)."""
        with writing_into(self.sets_dir, LIBRARY_FOLDER), names_lock(self.sets_dir):
            entry = self.entry(key)
            if column is not None:
                check_label_column(column, entry.columns if entry.sharded
                                   else pq.read_schema(Path(entry.path) / METADATA).names)
            write_fields(Path(entry.path), label_column=column)
        entry.label_column = column
        return entry

    def set_image_source(self, key: str, source: dict | None) -> LibraryEntry:
        """Remember which column holds a set's images (compute/thumbnails; None: forget it)."""
        with writing_into(self.sets_dir, LIBRARY_FOLDER), names_lock(self.sets_dir):
            entry = self.entry(key)
            write_fields(Path(entry.path), image_source=source)
        entry.image_source = source
        return entry

    def remove(self, key: str) -> LibraryEntry | DamagedSet:
        """Delete a set; a damaged one too, by the folder name `scan` lists it under."""
        found = self._find(key)
        self.delete(found, key)
        return found

    def delete(self, found: LibraryEntry | DamagedSet, key: str | None = None) -> None:
        """Delete the folder of a set `scan` or `replaced` found; `key`: what the user asked for."""
        key = key or found.id
        trash = self.sets_dir / f"{TRASH_PREFIX}{uuid.uuid4().hex[:8]}"
        with writing_into(self.sets_dir, LIBRARY_FOLDER):
            try:
                os.rename(found.path, trash)  # disappears atomically, then is deleted
            except FileNotFoundError:  # removed meanwhile, by another process
                raise InputError(f"no library set {key!r}") from None
        fsync_dir(self.sets_dir)
        shutil.rmtree(trash, ignore_errors=True)

    def check_writable(self) -> None:
        """Raise now if a new set could not be stored (before hours of encoding, say)."""
        with writing_into(self.sets_dir, LIBRARY_FOLDER):
            self.sets_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.sets_dir, prefix=".probe-"):
                pass

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

    def _commit(self, tmp: Path, entry: LibraryEntry, superseded: LibraryEntry | None = None,
                older_name: str | None = None) -> Path:
        """Rename the finished folder into place; if another import took the id, take the next.

        A `superseded` older copy of the same source gets `older_name` first, so
        the name is never held by two sets; it gets its name back if this fails.
        """
        base = slugify(entry.name)
        if superseded is not None:
            write_fields(Path(superseded.path), name=older_name)
        try:
            for _attempt in range(100):
                entry.id = self._unique_id(base)
                write_json(tmp / MANIFEST, entry.manifest())
                final = self.sets_dir / entry.id
                try:
                    os.rename(tmp, final)  # fails rather than merging into an existing folder
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    continue
                fsync_dir(self.sets_dir)
                return final
            raise InputError(f"could not find a free id for {base!r} in the library")
        except BaseException:
            if superseded is not None:
                write_fields(Path(superseded.path), name=superseded.name)
            raise

    def _unique_id(self, base: str) -> str:
        """A free folder name that is no other set's name either (a key then means one set)."""
        names = {e.name for e in self.entries()}
        candidate, i = base, 2
        while (self.sets_dir / candidate).exists() or candidate in names:
            candidate, i = f"{base}-{i}", i + 1
        return candidate


def _leftover(folder: Path) -> bool:
    return not any((folder / name).exists() for name in (MANIFEST, VECTORS, METADATA))


def _unchanged(entry: LibraryEntry, path: str) -> bool:
    """Whether `entry` was imported from `path` and its source files have not changed since.

    A metadata file attached later is not a source of the import: a set the user gave
    labels to is still the set an import of its unchanged file would store (and a change
    of that metadata file does not make a second copy of the vectors).
    """
    return bool(entry.source and entry.source[0] == path and entry.fingerprint
                and fingerprint(entry.own_sources) == entry.fingerprint)


def _replaced_marks(entries: list[LibraryEntry]) -> set[tuple[str, str]]:
    """(id, created) of the sets others replaced; the date tells one from a later set of its id."""
    return {(e.replaces.get("id"), e.replaces.get("created")) for e in entries if e.replaces}


def write_fields(folder: Path, **values: object) -> None:
    """Change fields of a set's manifest, keeping every other key as written (newer ones too)."""
    with open(folder / MANIFEST, encoding="utf-8") as fh:
        data = json.load(fh)
    data.update(values)
    write_json(folder / MANIFEST, data)


def read_manifest(folder: Path) -> LibraryEntry:
    """The set's entry; ValueError saying in the user's words what is wrong with its manifest."""
    try:
        with open(folder / MANIFEST, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ValueError(f"{MANIFEST} is missing") from None
    except OSError as exc:
        raise ValueError(f"{MANIFEST} cannot be read ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{MANIFEST} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                         f"column {exc.colno})") from None
    except ValueError as exc:  # not UTF-8
        raise ValueError(f"{MANIFEST} is not text ({exc})") from None
    return LibraryEntry.from_manifest(data, folder)


def check_files(folder: Path, entry: LibraryEntry) -> str | None:
    """What is wrong with a set's files (None when nothing), without reading their data.

    The .npy header gives the shape and dtype, the file's size whether the data
    is all there, the Parquet footer the metadata's row count. A sharded set's shards
    must be the files imported: the same size, time and footer.
    """
    if entry.sharded:
        from explorer.core.loaders.shard_files import shard_changed

        return next(filter(None, map(shard_changed, entry.shard_records())), None)
    try:
        with open(folder / VECTORS, "rb") as fh:
            header = read_header(fh)
    except FileNotFoundError:
        return f"{VECTORS} is missing"
    except OSError as exc:
        return f"{VECTORS} cannot be read ({exc.strerror or exc})"
    except ValueError as exc:
        return f"{VECTORS} is not a readable NumPy file: {exc}"
    if len(header.shape) != 2:
        return f"{VECTORS} holds a {len(header.shape)}-D array, not one vector a row"
    if header.dtype != np.float32:
        return f"{VECTORS} holds {header.dtype} values, not float32"
    if header.fortran_order:
        return f"{VECTORS} is stored column by column (Fortran order), not one vector a row"
    n, d = header.shape
    if n == 0 or d == 0:
        return f"{VECTORS} holds no vectors ({n} x {d})"
    problem = header.problem()
    if problem:
        return f"{VECTORS}: {problem}"
    if (n, d) != (entry.count, entry.dim):
        return (f"{VECTORS} holds {n:,} x {d} vectors but {MANIFEST} says "
                f"{entry.count:,} x {entry.dim}")
    try:
        rows = pq.read_metadata(folder / METADATA).num_rows
    except FileNotFoundError:
        return f"{METADATA} is missing"
    except (OSError, ValueError, pa.ArrowException) as exc:
        return f"{METADATA} cannot be read ({exc})"
    if rows != n:
        return f"{METADATA} has {rows:,} rows but {VECTORS} has {n:,}"
    return None


def _damaged(set_id: str, folder: str | Path, reason: str) -> InputError:
    return InputError(f"library set {set_id!r} is damaged: {reason}", path=folder,
                      hint=f"`embedding-explorer remove {set_id}` deletes it; then import it again")


def vectors_signature(vectors: np.ndarray | ShardedVectors, folder: Path | None) -> dict:
    """What derived data (norms, indexes) was computed from: shape, file size/mtime, sampled rows.

    A sharded set's is its shards' sizes, times and footer digests: sampling rows would
    decode every Parquet shard each time the signature is asked for.
    """
    n, d = vectors.shape
    sig: dict = {"count": int(n), "dim": int(d)}
    if isinstance(vectors, ShardedVectors):
        joined = "\n".join(vectors.fingerprint()).encode()
        sig["shards"] = hashlib.blake2b(joined, digest_size=16).hexdigest()
        return sig
    if folder is not None:
        try:
            st = (Path(folder) / VECTORS).stat()
            sig.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
        except OSError:
            pass
    rows = np.unique(np.linspace(0, n - 1, num=min(n, 64)).astype(np.int64))
    sig["sample_crc"] = zlib.crc32(np.ascontiguousarray(vectors[rows], dtype=np.float32).tobytes())
    return sig


def write_norms(folder: Path, vectors: np.ndarray | ShardedVectors, norms: np.ndarray) -> None:
    """Store the norms found by the import scan where neighbour search looks for them."""
    ArtifactStore(folder).save(NORMS_KIND, NORMS_KEY, norms.astype(np.float32),
                               {"signature": vectors_signature(vectors, folder),
                                "format": NORMS_FORMAT})


def set_vectors(folder: Path, entry: LibraryEntry) -> np.ndarray | ShardedVectors:
    """A set's vectors as stored (memory-mapped, or its shards), for signatures and checks."""
    if entry.sharded:
        return ShardedVectors(entry.shard_records(), entry.dim, entry.vector_column or "")
    return np.load(folder / VECTORS, mmap_mode="r")


def write_metadata(path: Path, table: pa.Table) -> None:
    """Parquet through our own handle, so it can be fsynced before the set becomes visible."""
    try:
        with open(path, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"the metadata cannot be stored as Parquet ({exc})",
                         hint="drop or convert the column it names") from None
