"""Import a folder, glob or list of shard files as one library set: copied or kept in place.

When the vectors fit (n x d x 4 bytes under half the free memory, and the library's disk has
room for them), the shards are streamed into one vectors.npy as any import is, so every view
works. When they do not, or when asked, the set is registered *sharded*: its manifest lists
the shard files (path, rows, size, time, footer digest) and nothing is copied; the vectors
are read from the shards (core/sharded.py), the metadata is queried in them in place
(core/metadata.py), and the user's files are never written, moved or deleted.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from explorer.core.checks import check_set
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.jobs import TaskState
from explorer.core.label_columns import check_label_column, guess_label_column
from explorer.core.library import Library, fingerprint, write_norms
from explorer.core.loaders.base import available_memory, size_text
from explorer.core.loaders.guesses import guess_id_column, guess_text_column
from explorer.core.loaders.shard_files import (
    ShardScan,
    read_metadata,
    scan_shards,
    shard_paths,
)
from explorer.core.manifest import SHARDED_SCHEMA, LibraryEntry
from explorer.core.sharded import ARROW, ShardedVectors

LAYOUTS = ("auto", "single", "sharded")
FIT_ENV = "EXPLORER_SHARDED_FIT_BYTES"  # vectors larger than this are kept sharded (tests)
SHARDED_FORMAT = "shards"
NOT_DROPPED = ("a sharded set keeps the shard files as they are, so no row can be dropped "
               "from it")


def fits_single(nbytes: int, library: Library) -> bool:
    """Whether one vectors.npy of `nbytes` is sensible here: under half the free memory (a
    view may read it all) and with room on the library's disk (and a tenth to spare)."""
    limit = os.environ.get(FIT_ENV)
    if limit is not None:
        try:
            return nbytes <= int(limit)
        except ValueError:
            raise InputError(f"{FIT_ENV} must be a number of bytes, not {limit!r}") from None
    folder = library.sets_dir if library.sets_dir.exists() else library.root
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return nbytes < available_memory() / 2 and nbytes * 1.1 < shutil.disk_usage(folder).free


def import_shards(library: Library, items: Sequence[str | Path],
                  options: ImportOptions | None = None, *, layout: str = "auto",
                  name: str | None = None, new: bool = False, replace: bool = False,
                  state: TaskState | None = None) -> LibraryEntry:
    """Store the shards `items` name (folders, globs, files) as one set; see the module doc.

    The same unchanged shards imported before with the same options and layout give the
    stored set back (`reused`), unless `new`.
    """
    state = state or TaskState()
    options = options or ImportOptions()
    if layout not in LAYOUTS:
        raise InputError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if options.metadata_path or options.dataset:
        raise InputError("a metadata file or a dataset cannot be given for shards: their "
                         "metadata is the shards' own columns")
    options = options.resolved()
    paths = shard_paths(items)
    source = [str(p) for p in paths]
    if not new:
        known = _reusable(library, source, options, layout, name)
        if known is not None:
            return known
    if name is not None:
        library.check_name(name, replace)
    state.status("Checking the shards' footers")
    scan = scan_shards(paths, options.vector_column, state.sub(0, 0.05))
    vectors = scan.vectors()
    if layout == "auto":
        layout = "single" if fits_single(vectors.nbytes, library) else "sharded"
    if layout == "sharded" and (options.drop_nonfinite or options.drop_zero):
        raise InputError(f"{NOT_DROPPED}; import without --sharded to drop rows "
                         f"(the {size_text(vectors.nbytes)} of vectors are then copied)")
    es = _embedding_set(scan, vectors, paths, options, state.sub(0.05, 0.1))
    if layout == "single":
        return library.import_set(es, name=name, drop_nonfinite=options.drop_nonfinite,
                                  drop_zero=options.drop_zero, options=options, new=True,
                                  replace=replace, state=state.sub(0.1, 1))
    return _store_sharded(library, es, scan, options, name, replace, state.sub(0.1, 1))


def _reusable(library: Library, source: list[str], options: ImportOptions, layout: str,
              name: str | None) -> LibraryEntry | None:
    for e in library.entries():
        if (e.source == source and e.fingerprint and fingerprint(source) == e.fingerprint
                and options.reuses(e) and name in (None, e.name)
                and layout in ("auto", e.layout)):
            e.reused = True
            return e
    return None


def _embedding_set(scan: ShardScan, vectors: ShardedVectors, paths: list[Path],
                   options: ImportOptions, state: TaskState) -> EmbeddingSet:
    columns = scan.metadata_schema.names
    metadata = read_metadata(scan, columns, state)
    id_column = options.id_column or guess_id_column(metadata)
    if options.id_column and options.id_column not in metadata.column_names:
        raise InputError(f"no column named {options.id_column!r} for ids", path=paths[0],
                         hint="columns: " + ", ".join(metadata.column_names))
    if options.label_column:
        check_label_column(options.label_column, metadata.column_names, str(paths[0]))
    text_column = guess_text_column(metadata, id_column)
    es = EmbeddingSet(vectors=vectors, metadata=metadata, name=_name(paths), format=SHARDED_FORMAT,
                      source=[str(p) for p in paths], vector_column=scan.vector_column,
                      id_column=id_column, text_column=text_column,
                      label_column=options.label_column or guess_label_column(
                          metadata, id_column, text_column),
                      notes=[f"{len(paths)} shards ({_kinds(vectors)})"])
    options.apply(es)
    return es


def _name(paths: list[Path]) -> str:
    parents = {p.parent for p in paths}
    return paths[0].parent.name if len(parents) == 1 and len(paths) > 1 else paths[0].stem


def _kinds(vectors: ShardedVectors) -> str:
    arrow = sum(s.kind == ARROW for s in vectors.shards)
    parts = [f"{arrow} Arrow IPC"] if arrow else []
    if arrow < len(vectors.shards):
        parts.append(f"{len(vectors.shards) - arrow} Parquet")
    return ", ".join(parts)


def _store_sharded(library: Library, es: EmbeddingSet, scan: ShardScan, options: ImportOptions,
                   name: str | None, replace: bool, state: TaskState) -> LibraryEntry:
    """Check every row (NaN/Inf are named with their shard), then write the manifest and
    the norms; the shards stay where they are."""
    vectors = es.vectors
    state.status("Checking vectors")
    report = check_set(es, state.sub(0, 0.9))
    vectors.release()
    scan_result = report.scan
    if scan_result.nan_rows:
        row, col = scan_result.first_nonfinite or (0, 0)
        path, local = vectors.locate(row)
        raise InputError(f"{scan_result.nan_rows} rows hold NaN or Inf values (first at "
                         f"dimension {col})", path=path, row=local,
                         hint=f"{NOT_DROPPED}: fix the shard, or import without --sharded "
                              "and with --drop-nonfinite")
    recorded = options.happened(0, scan_result.n_zero_rows)

    def write(tmp: Path) -> LibraryEntry:
        if scan_result.norms is not None:
            write_norms(tmp, vectors, scan_result.norms)
        return LibraryEntry(
            id="", name=name or es.name, count=es.count, dim=es.dim, dtype="float32",
            metric=es.metric, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            source=list(es.source), format=es.format, schema_version=SHARDED_SCHEMA,
            model=es.model, vector_column=scan.vector_column, id_column=es.id_column,
            text_column=es.text_column, label_column=es.label_column,
            columns=list(scan.metadata_schema.names), zero_rows=scan_result.n_zero_rows,
            duplicate_ids=report.duplicate_ids, notes=list(es.notes),
            fingerprint=fingerprint(es.source) or None,
            import_options=recorded.to_manifest(), layout="sharded",
            shards=[s.to_manifest() for s in scan.shards])

    state.progress(0.95)
    return library.store_new(write, name=name, base=es.name, options=recorded, new=True,
                             replace=replace, state=state)


def open_sharded(entry: LibraryEntry, folder: Path) -> EmbeddingSet:
    """A sharded set as an EmbeddingSet: vectors read in place, metadata without them."""
    vectors = ShardedVectors(entry.shard_records(), entry.dim, entry.vector_column or "")
    metadata = read_metadata(vectors, list(entry.columns))
    present = set(metadata.column_names)
    id_col, text_col, label_col = (c if c in present else None for c in
                                   (entry.id_column, entry.text_column, entry.label_column))
    return EmbeddingSet(
        vectors=vectors, metadata=metadata, name=entry.name, format=entry.format,
        source=entry.source, metric=entry.metric, model=entry.model,
        vector_column=entry.vector_column, id_column=id_col, text_column=text_col,
        label_column=label_col, model_check=entry.check, library_id=entry.id, path=folder,
        notes=entry.notes)


def describe_shards(items: Sequence[str | Path], vector_column: str | None = None,
                    state: TaskState | None = None) -> dict:
    """What `inspect` prints of shards: their footers' story and every row checked."""
    state = state or TaskState()
    paths = shard_paths(items)
    scan = scan_shards(paths, vector_column, state.sub(0, 0.05))
    vectors = scan.vectors()
    es = _embedding_set(scan, vectors, paths, ImportOptions(), state.sub(0.05, 0.1))
    report = check_set(es, state.sub(0.1, 1))
    vectors.release()
    first = report.scan.first_nonfinite
    where = None
    if first is not None:
        path, local = vectors.locate(first[0])
        where = {"shard": str(path), "row": local, "dimension": first[1]}
    return {"count": es.count, "dim": es.dim, "shards": [s.to_manifest() for s in scan.shards],
            "vector_column": scan.vector_column, "vector_type": str(scan.vector_type),
            "columns": es.columns, "id_column": es.id_column, "text_column": es.text_column,
            "label_column": es.label_column, "bytes": vectors.nbytes,
            "first_nan_at": where, **report.to_dict()}


__all__ = ["FIT_ENV", "LAYOUTS", "describe_shards", "fits_single", "import_shards",
           "open_sharded"]
