"""Join a metadata file to a stored set, by row order, in place.

Vectors that came alone (a .npy, an .fvecs) get their labels later: the file is read
(core/metadata_files.py checks it first), its rows are matched to the stored rows and
the set's metadata.parquet is replaced by the joined table. A vectors-only set's
positional `row` column gives way; a set with metadata of its own keeps every column
and a clashing name of the file's gets `_meta`, as a join at import does. Attaching
again replaces what the previous attach added, not the set's own columns, so a wrong
file can be swapped for the right one.

Rows an import dropped (NaN or zero vectors) are a trap: the file may have the stored
count (joined as it is) or the imported file's count. The latter is joined through the
file rows the import recorded for each kept row (`source_row`), and refused when the
set does not record them, rather than shifting every label after the first dropped row.

Atomic: the joined table is written beside metadata.parquet, fsynced and renamed over
it; then the manifest's fields (columns, id/text/label column, source, duplicate ids,
`attached_metadata`) are rewritten under the library's name lock, the same lock every
manifest rewrite takes. A failure before the rename leaves the old metadata; one while
the manifest is written puts the old metadata back (a killed process leaves the hidden
copies, LEFTOVERS, which `gc` removes once they are a day old). A reader opening the set meanwhile
sees the old table or the new one, never a mix (Library.open ignores a manifest's
column that is not in the table).

The import's own record (`import_options`, `fingerprint`) is left as it was: the set is
still what an import of its unchanged vectors file would store, so opening that file
again finds it (`Library.find_reusable`), and re-importing it (compute/reimport.py)
attaches the same file again. Nothing the library caches is derived from metadata
(artefacts are keyed by the vectors' signature, which this does not change), so no
cache can serve a result of the old columns.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.core.atomic import fsync_dir
from explorer.core.errors import InputError, writing_into
from explorer.core.jobs import TaskState
from explorer.core.label_columns import check_label_column, guess_label_column
from explorer.core.library import (LIBRARY_FOLDER, METADATA, Library, fingerprint, write_fields,
                                   write_metadata)
from explorer.core.loaders import append_columns, tables
from explorer.core.loaders.base import read_head
from explorer.core.loaders.columns import check_unique_names
from explorer.core.loaders.guesses import guess_id_column, guess_text_column
from explorer.core.manifest import LibraryEntry
from explorer.core.metadata_files import (KEPT_ROWS, POSITIONAL, MetadataPreview, has_metadata,
                                          join_problem, preview_metadata)
from explorer.core.set_names import names_lock

ATTACH_VERSION = 1
LEFTOVERS = f".{METADATA}.*"  # what a killed attach leaves in the set's folder: `gc` removes it
BY_ORDER, BY_KEPT_ROWS = "order", "kept rows"  # how the file's rows met the stored ones


def attach_metadata(library: Library, key: str, path: str | Path, *,
                    id_column: str | None = None, label_column: str | None = None,
                    state: TaskState | None = None) -> LibraryEntry:
    """Join the metadata table at `path` to the stored set `key`; returns its new entry.

    `id_column` and `label_column` name columns of the file (or of the set); left out,
    they are guessed as an import guesses them. The entry's `notes` end with what was
    done. InputError for a file that cannot be read or whose rows do not match.
    """
    state = state or TaskState()
    path = Path(path).expanduser()
    entry = library.entry(key)
    if entry.sharded:  # its metadata is read from its shards, where nothing is written
        raise InputError("nothing can be attached to a sharded set: its metadata is its "
                         "shards' own columns, read where they are",
                         hint="add the columns to the shard files and import them again, or "
                              "import the shards without --sharded")
    es = library.open(entry.id)
    state.status(f"Reading {path.name}")
    extra, how = aligned_rows(path, entry, es.metadata)
    state.progress(0.5)
    previous = attached_record(entry)
    own = es.metadata
    if not has_metadata(es):
        own = own.drop_columns([POSITIONAL])
    gone = [c for c in previous["columns"] if c in own.column_names]
    own = own.drop_columns(gone) if gone else own
    table, names = join(own, extra)
    kept = set(own.column_names) - {KEPT_ROWS}
    ids = (pick_column(id_column, names, table, path, "id_column", "for ids") if id_column
           else entry.id_column if entry.id_column in kept else guess_id_column(table))
    text = entry.text_column if entry.text_column in kept else guess_text_column(table, ids)
    if label_column:
        label = pick_column(label_column, names, table, path, "label_column",
                            "to label the items with")
    else:
        label = (entry.label_column if entry.label_column in kept
                 else guess_label_column(table, ids, text))
    resolved = str(path.resolve())
    note = (f"metadata attached from {path.name}: {len(names)} columns, "
            + ("rows joined by order" if how == BY_ORDER
               else "rows matched through the file rows kept at import"))
    record = {"version": ATTACH_VERSION, "path": resolved, "id_column": id_column,
              "label_column": label_column, "columns": list(names.values()), "rows": how,
              "fingerprint": fingerprint([resolved]), "note": note,
              "attached": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    fields = {"columns": table.column_names, "id_column": ids, "text_column": text,
              "label_column": label, "source": entry.own_sources + [resolved],
              "duplicate_ids": duplicate_count(table, ids), "attached_metadata": record,
              "notes": [n for n in entry.notes if n != previous.get("note")] + [note]}
    state.status("Writing metadata")
    replace_metadata(library, entry, table, fields, state)
    state.progress(1)
    done = library.entry(entry.id)
    if entry.model and text != entry.text_column:
        done.notes.append(f"the model {entry.model} was not checked against the text column "
                          f"{text!r}; `embedding-explorer set-model {entry.id} MODEL` checks it")
    return done


def attached_record(entry: LibraryEntry) -> dict:
    """The set's `attached_metadata`, each field of the type it must have (a manifest is read
    as the user may have edited it): path, id_column, label_column, note (str or None)
    and columns (the names the attach added)."""
    data = entry.attached_metadata or {}
    out = {k: data.get(k) if isinstance(data.get(k), str) else None
           for k in ("path", "id_column", "label_column", "note")}
    columns = data.get("columns")
    out["columns"] = [c for c in columns if isinstance(c, str)] if isinstance(columns, list) \
        else []
    return out


def preview_attach(library: Library, key: str, path: str | Path,
                   rows: int = 20) -> MetadataPreview:
    """`preview_metadata` for set `key`, whose `problem` knows the rows its import dropped:
    a file with the imported file's count is joined through the rows the import kept (no
    problem), or refused when the set does not record them; as `attach_metadata` decides."""
    entry = library.entry(key)
    preview = preview_metadata(path, entry.count, rows)
    dropped = entry.nan_rows_dropped + entry.zero_rows_dropped
    if preview.problem is None or not dropped or not preview.columns:
        return preview
    imported = entry.count + dropped
    if preview.num_rows != imported:
        return dataclasses.replace(preview, problem=preview.problem + (
            f" (the imported file had {imported:,}, of which {dropped:,} were dropped)"))
    if kept_rows(library.open(entry.id).metadata, imported) is not None:
        return dataclasses.replace(preview, problem=None)
    return dataclasses.replace(preview, problem=unrecorded(imported, dropped))


def unrecorded(imported: int, dropped: int) -> str:
    """Why a file with the imported file's rows cannot be joined to a set that dropped some."""
    return (f"has {imported:,} rows, as the imported file had, but {dropped:,} of them "
            f"{'were' if dropped > 1 else 'was'} dropped at import and the set does not "
            "record which")


def aligned_rows(path: Path, entry: LibraryEntry, metadata: pa.Table) -> tuple[pa.Table, str]:
    """The file's table with one row per stored row, in the stored order, and how."""
    stored = entry.count
    dropped = entry.nan_rows_dropped + entry.zero_rows_dropped
    imported = stored + dropped
    read_head(path)
    table = tables.read_metadata_file(path, stored)
    if dropped and table.num_rows not in (stored, imported):
        table = tables.read_metadata_file(path, imported)  # a one-column TSV's header line
    check_unique_names(table.column_names, path)
    if table.num_columns == 0:
        raise InputError("holds no columns", path=path,
                         hint="a metadata table has a header line, or one object a line")
    if table.num_rows == stored:
        return table, BY_ORDER
    if dropped and table.num_rows == imported:
        kept = kept_rows(metadata, imported)
        if kept is None:
            raise InputError(
                unrecorded(imported, dropped), path=path,
                hint=f"attach a file with the set's {stored:,} rows, or import the vectors "
                     f"again with --metadata {path.name}")
        return table.take(pa.array(kept)), BY_KEPT_ROWS
    message = join_problem(table.num_rows, table.num_columns, stored)
    if dropped:
        message += (f" (the imported file had {imported:,}, of which {dropped:,} were "
                    "dropped)")
    raise InputError(message, path=path, hint=f"the set is {entry.describe()}")


def kept_rows(metadata: pa.Table, imported: int) -> np.ndarray | None:
    """The file row of each stored row, as the import recorded it (None: it did not).

    Only a `source_row` column that can be such a record is believed: whole numbers,
    none missing, strictly increasing, within the imported file's rows.
    """
    if KEPT_ROWS not in metadata.column_names:
        return None
    column = metadata.column(KEPT_ROWS)
    if not pa.types.is_integer(column.type) or column.null_count:
        return None
    rows = column.to_numpy().astype(np.int64)
    if len(rows) and (rows[0] < 0 or rows[-1] >= imported or np.any(np.diff(rows) <= 0)):
        return None
    return rows


def join(own: pa.Table, extra: pa.Table) -> tuple[pa.Table, dict[str, str]]:
    """The set's own columns and the file's, and what each file column is called in it.

    With nothing of its own but the file rows kept at import, the file's columns come
    first and that record goes last (it is ours, not the user's).
    """
    if own.num_columns == 0:
        return extra, {name: name for name in extra.column_names}
    table, names = append_columns(own, extra)
    if own.column_names == [KEPT_ROWS]:
        table = table.select([*names.values(), KEPT_ROWS])
    return table, names


def pick_column(asked: str, names: dict[str, str], table: pa.Table, path: Path, option: str,
                what: str) -> str:
    """The column the user named: a file column (by its name in the file) or a set's."""
    if asked in names:
        return names[asked]
    if option == "label_column":
        check_label_column(asked, table.column_names, str(path))
    if asked not in table.column_names:
        raise InputError(f"no column named {asked!r} {what}", path=path,
                         hint="columns: " + ", ".join(table.column_names[:30]),
                         choices=tuple(table.column_names), option=option)
    return asked


def duplicate_count(table: pa.Table, column: str | None) -> int:
    """How many values of the id column occur more than once (missing ids are not)."""
    if not column:
        return 0
    counts = pc.value_counts(table.column(column).drop_null().combine_chunks())
    return len(counts.filter(pc.greater(counts.field("counts"), 1)))


def replace_metadata(library: Library, entry: LibraryEntry, table: pa.Table, fields: dict,
                     state: TaskState) -> None:
    """Swap the set's metadata.parquet for `table` and its manifest's `fields`, atomically."""
    folder = Path(entry.path)
    target = folder / METADATA
    token = uuid.uuid4().hex[:12]
    tmp, backup = folder / f".{METADATA}.{token}.tmp", folder / f".{METADATA}.{token}.old"
    with writing_into(library.sets_dir, LIBRARY_FOLDER):
        try:
            write_metadata(tmp, table)
            with names_lock(library.sets_dir):
                now = library.entry(entry.id)  # gone, or changed, since it was read?
                if (now.created, now.attached_metadata, now.columns) != \
                        (entry.created, entry.attached_metadata, entry.columns):
                    raise InputError(f"set {entry.id!r} changed while the metadata was read "
                                     "(another attach or import)", hint="attach it again")
                state.check()  # the last moment a cancel can stop it
                kept = keep_old(target, backup)  # to put back if the manifest cannot be written
                os.replace(tmp, target)
                fsync_dir(folder)
                try:
                    write_fields(folder, **fields)
                except BaseException:
                    if kept:
                        os.replace(backup, target)
                        fsync_dir(folder)
                    raise
        finally:
            tmp.unlink(missing_ok=True)
            backup.unlink(missing_ok=True)


def keep_old(target: Path, backup: Path) -> bool:
    """A second name for the old table (a hard link: no copy); False where links are not
    possible, and then a failed manifest write leaves the new table (Library.open copes)."""
    try:
        os.link(target, backup)
    except OSError:
        return False
    return True
