"""Read a stored set's source file again, the way it was read, and put the result in its place.

A file changes (rows added, a pipeline run again) or the app reads it better than it
did; the set made from it should follow without the user repeating every choice. The
recorded import options (core/import_options.py) say how it was read; the set is
stored again under its name with the library's `replace` (the new set is committed
first, marked as replacing the old one, which is then deleted: a failure at any point
leaves one complete set), so it gets a new id as any `import --replace` does.

What the user added since the import comes along when it still fits: the metadata file
attached to it (core/metadata_attach.py; refused before anything is replaced when it
no longer matches the rows, rather than losing the labels), the label column if the
new table still has it, the saved concept directions if the dimension is the same, and
the recorded model only if it still verifies against the new vectors
(compute/encoding/model_check.py). The returned entry's notes say what changed.

Rows holding NaN or Inf are dropped, as opening a file in the app drops them, and the
notes say how many.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from explorer.core.artifacts import ARTIFACTS_DIR
from explorer.core.checks import check_set
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError, writing_into
from explorer.core.import_options import ImportOptions
from explorer.core.jobs import TaskState
from explorer.core.library import LIBRARY_FOLDER, Library, fingerprint, write_fields
from explorer.core.manifest import LibraryEntry
from explorer.core.metadata_attach import attach_metadata, attached_record
from explorer.core.metadata_files import read_sample
from explorer.core.partial_folders import partial_folder
from explorer.core.set_names import names_lock

CONCEPTS = "concepts"  # the artefact kind of saved directions (compute/concepts/store.py)


def reimport(library: Library, key: str, state: TaskState | None = None) -> LibraryEntry:
    """Import set `key`'s source file again with its recorded options, in its place.

    InputError when the set was not imported from a file, its file is gone, or the
    metadata attached to it no longer fits; nothing is changed then.
    """
    from explorer.core.loaders import open_file

    state = state or TaskState()
    entry = library.entry(key)
    options = recorded_options(entry)
    if entry.sharded:
        return reimport_shards(library, entry, options, state)
    source = Path(entry.own_sources[0])
    if not source.is_file():
        raise InputError(f"the file set {entry.name!r} was imported from is gone",
                         path=source, hint="put it back, or import another file")
    unchanged = fingerprint(entry.own_sources) == entry.fingerprint
    state.status(f"Reading {source.name}")
    # a label column the file no longer has is not a reason to refuse: it is only not kept
    es = open_file(source, dataclasses.replace(options, label_column=None).load_options(),
                   state.sub(0, 0.3))
    options.apply(es)
    report = check_set(es, state.sub(0.3, 0.45))
    dropped = report.scan.nan_rows + (report.scan.n_zero_rows if options.drop_zero else 0)
    attached = attached_record(entry)
    if attached["path"]:
        check_attached(Path(attached["path"]), es.count, es.count - dropped)
    notes = [f"re-imported from {source.name}, "
             + ("unchanged since the last import" if unchanged else "changed since the last "
                                                                     "import")]
    if report.scan.nan_rows:
        n = report.scan.nan_rows
        notes.append(f"{n:,} row{'s' * (n > 1)} holding NaN or Inf {'were' if n > 1 else 'was'} "
                     "dropped")
    label = entry.label_column if entry.label_column in es.columns else None
    if label:
        es.label_column = label
    notes += check_recorded_model(entry, es, unchanged, state.sub(0.45, 0.55))
    recorded = dataclasses.replace(options, label_column=options.label_column if label else None,
                                   model=options.model if es.model else None)
    with partial_folder(library.sets_dir, "reimport") as keep:
        kept = keep_concepts(entry, es.dim, keep)
        new = library.import_set(es, name=entry.name, drop_nonfinite=True,
                                 drop_zero=options.drop_zero, report=report, options=recorded,
                                 new=True, replace=True, state=state.sub(0.55, 0.9))
        if kept:
            artefacts = Path(new.path) / ARTIFACTS_DIR
            artefacts.mkdir(exist_ok=True)
            os.rename(keep / CONCEPTS, artefacts / CONCEPTS)
    if kept:
        notes.append(f"{kept} saved concept direction{'s' * (kept > 1)} kept")
    elif kept is None:
        notes.append(f"the saved concept directions were not kept: the vectors now have "
                     f"{es.dim} dimensions, not {entry.dim}")
    if attached["path"]:
        state.status("Attaching the metadata again")
        new = attach_metadata(library, new.id, attached["path"],
                              id_column=attached["id_column"],
                              label_column=attached["label_column"],
                              state=state.sub(0.9, 0.98))
        if entry.label_column and entry.label_column in new.columns:
            new = library.set_label_column(new.id, entry.label_column)
    notes += describe_changes(entry, new)
    return record_notes(library, new, notes)


def reimport_shards(library: Library, entry: LibraryEntry, options: ImportOptions,
                    state: TaskState) -> LibraryEntry:
    """A sharded set registered again over its shard files, as they are now, in its place
    (the same files: a shard that is gone is named)."""
    from explorer.core.shard_import import import_shards

    unchanged = fingerprint(entry.own_sources) == entry.fingerprint
    new = import_shards(library, entry.own_sources, options, layout="sharded",
                        name=entry.name, new=True, replace=True, state=state)
    if entry.label_column and entry.label_column in new.columns:
        new = library.set_label_column(new.id, entry.label_column)
    notes = [f"re-imported from its {len(entry.own_sources)} shard files, "
             + ("unchanged since the last import" if unchanged else "changed since the last "
                                                                     "import")]
    return record_notes(library, new, notes + describe_changes(entry, new))


def recorded_options(entry: LibraryEntry) -> ImportOptions:
    """How `entry` was read from its file; InputError for a set that was not."""
    options = ImportOptions.of_entry(entry)
    if options is not None and entry.source:
        return options
    if entry.import_options is not None:
        raise InputError(f"set {entry.name!r} was imported by a newer version of Embedding "
                         "Explorer, whose record of how it read the file this one cannot read",
                         hint="import the file again with --replace")
    raise InputError(f"set {entry.name!r} was made here, not imported from a file; there is "
                     "no file to read again",
                     hint="encode its inputs again, or import the file its vectors are in")


def check_attached(path: Path, imported: int, stored: int) -> None:
    """Refuse, before anything is replaced, a re-import the attached metadata would not fit."""
    try:
        rows = read_sample(path, stored, 1)[0]
    except InputError as exc:
        raise InputError(f"the metadata attached to the set cannot be read again: "
                         f"{exc.message}", path=path,
                         hint="put the file back, or import the vectors file with --replace "
                              "and attach another") from None
    if rows not in (stored, imported):
        raise InputError(f"the metadata attached to the set has {rows:,} rows but the file now "
                         f"gives {stored:,} vectors; re-importing would lose it", path=path,
                         hint="import the vectors file with --replace, then attach a file "
                              "that matches")


def check_recorded_model(entry: LibraryEntry, es: EmbeddingSet, unchanged: bool,
                         state: TaskState) -> list[str]:
    """Keep the set's model on `es` only if it still holds for the new vectors; the notes."""
    from explorer.compute.encoding.model_check import check_model, resolve_model

    es.model, es.model_check = None, None
    if not entry.model:
        return []
    before = entry.check
    try:
        folder = resolve_model(entry.model)
    except InputError:
        if unchanged:
            es.model, es.model_check = entry.model, before
            return [(f"model {entry.model} kept: it is not installed here, but the vectors "
                     "are those it was recorded for")]
        return [(f"model {entry.model} not kept: it is not installed here, so it could not "
                 "be checked against the new vectors (`set-model` names it again)")]
    try:
        check = check_model(es, folder, state)
    except InputError as exc:  # another dimension
        return [f"model {entry.model} not kept: {exc.message}"]
    was_verified = before is not None and before.verified is True
    if check.verified or (check.verified is None and not was_verified):
        es.model, es.model_check = entry.model, check
        return [] if check.verified else [f"model {entry.model} kept, unverified: {check.reason}"]
    return [(f"model {entry.model} not kept: {check.reason or 'it could not be checked'} "
             "(`set-model` names it again)")]


def keep_concepts(entry: LibraryEntry, dim: int, into: Path) -> int | None:
    """Copy the old set's saved directions aside (they go with the old folder); how many,
    0 when there are none, None when the new dimension makes them meaningless."""
    folder = Path(entry.path) / ARTIFACTS_DIR / CONCEPTS
    count = len(list(folder.glob("*.json"))) if folder.is_dir() else 0
    if not count:
        return 0
    if dim != entry.dim:
        return None
    shutil.copytree(folder, into / CONCEPTS)
    return count


def describe_changes(old: LibraryEntry, new: LibraryEntry) -> list[str]:
    """What a user would want to know changed between two stores of one file."""
    notes = []
    if (old.count, old.dim) != (new.count, new.dim):
        notes.append(f"{new.count:,} x {new.dim} vectors, was {old.count:,} x {old.dim}")
    added = [c for c in new.columns if c not in old.columns]
    removed = [c for c in old.columns if c not in new.columns]
    if added:
        notes.append("new columns: " + ", ".join(added))
    if removed:
        notes.append("columns no longer there: " + ", ".join(removed))
    if old.label_column and old.label_column != new.label_column:
        notes.append(f"the label column {old.label_column!r} is gone; items are now named by "
                     + (repr(new.label_column) if new.label_column else "their id or text"))
    return notes


def record_notes(library: Library, entry: LibraryEntry, notes: list[str]) -> LibraryEntry:
    """Add `notes` to the set's manifest (under the lock every manifest rewrite takes)."""
    with writing_into(library.sets_dir, LIBRARY_FOLDER), names_lock(library.sets_dir):
        current = library.entry(entry.id)
        write_fields(Path(current.path), notes=current.notes + notes)
    return library.entry(entry.id)
