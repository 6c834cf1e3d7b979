"""Open embedding files: pick a format by extension, confirm it by content, run shared checks.

The formats are the loader contributions of explorer.plugins: the built-ins (declared in
explorer.contributions) and any plugin's, each imported when a file first needs it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer import plugins
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.label_columns import check_label_column, guess_label_column
from explorer.core.loaders import tables
from explorer.core.loaders.base import (
    Format,
    Loaded,
    LoadOptions,
    check_fits_in_memory,
    not_utf8,
    read_head,
)
from explorer.core.loaders.columns import check_unique_names
from explorer.core.loaders.guesses import (ID_NAMES, TEXT_NAMES, guess_id_column,
                                           guess_text_column)


def formats() -> tuple[Format, ...]:
    """Every format, built-in or from a plugin, in registration order."""
    return _formats(plugins.registry())


@functools.lru_cache(maxsize=1)
def _formats(registry: plugins.Registry) -> tuple[Format, ...]:
    return tuple(_format(entry) for entry in registry.of_kind("loader"))


def _format(entry: plugins.Entry) -> Format:
    spec = entry.spec
    return Format(spec.name, spec.extensions,
                  sniff=functools.partial(entry.call, spec.sniff),
                  load=functools.partial(entry.call, spec.target),
                  memory_mapped=spec.memory_mapped, ram_per_file_byte=spec.ram_per_file_byte,
                  description=spec.description, priority=spec.priority,
                  by_content=spec.by_content,
                  plugin=None if entry.origin.builtin else entry.origin.distribution)


def supported_extensions() -> list[str]:
    return list(dict.fromkeys(ext for fmt in formats() for ext in fmt.extensions))


def detect_format(path: Path, head: bytes) -> Format:
    """The extension proposes (highest priority first), the content confirms.

    A plugin loader that fails is skipped (and recorded); when no other loader takes the
    file, its failure is the message.
    """
    name = path.name.lower()
    claims = sorted((f for f in formats() if name.endswith(f.extensions)),
                    key=lambda f: -f.priority)
    failure = None
    for fmt in claims:
        try:
            if fmt.sniff(head, path):
                return fmt
        except plugins.PluginFailure as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    actual = next((f for f in formats() if f.by_content and f not in claims
                   and _sniffs(f, head, path)), None)
    if claims:
        if actual is not None:
            raise InputError(f"the name says {claims[0].name} but it looks like {actual.name}",
                             path=path)
        where = not_utf8(head)
        repaired = head.decode("utf-8", errors="replace").encode()
        if where and any(_sniffs(f, repaired, path) for f in claims):
            raise InputError(f"the name says {claims[0].name} but it is not UTF-8 text: {where} "
                             "cannot be decoded", path=path, hint="save the file as UTF-8")
        raise InputError(f"the name says {claims[0].name} but its content does not match",
                         path=path)
    if actual is not None:
        return actual
    raise InputError("unknown file type", path=path,
                     hint="supported: " + " ".join(supported_extensions()))


def _sniffs(fmt: Format, head: bytes, path: Path) -> bool:
    try:
        return bool(fmt.sniff(head, path))
    except plugins.PluginFailure:
        return False  # recorded for the Plugins dialog; another format may still fit


def open_file(path: str | Path, options: LoadOptions | None = None,
              state: TaskState | None = None) -> EmbeddingSet:
    """Read any supported file into an EmbeddingSet (not yet in the library)."""
    options = options or LoadOptions()
    state = state or TaskState()
    path = Path(path).expanduser()
    head = read_head(path)
    fmt = detect_format(path, head)
    check_fits_in_memory(path, fmt)
    try:
        loaded = fmt.load(path, options, state)
    except MemoryError:
        raise InputError("not enough memory to read this file", path=path,
                         hint="convert it to .npy, which is memory-mapped, or free some memory") from None
    if not isinstance(loaded, Loaded) or getattr(loaded.vectors, "ndim", 0) != 2:
        raise _misbehaved(fmt, "its loader returned no 2-D array of vectors")
    vectors = loaded.vectors
    n, d = vectors.shape
    if n == 0:
        raise InputError("holds no vectors", path=path)
    if d < 2:
        raise InputError(f"vectors have dimension {d}; at least 2 are needed to compare directions",
                         path=path)
    metadata = loaded.metadata
    meta_path = options.metadata_path or loaded.metadata_path
    if meta_path is not None:
        meta_path = Path(meta_path).expanduser()
        metadata = _join_metadata(metadata, meta_path, n)
    if metadata is None or metadata.num_columns == 0:
        metadata = pa.table({"row": np.arange(n, dtype=np.int64)})
    elif metadata.num_rows != n:
        raise InputError(f"metadata has {metadata.num_rows} rows but there are {n} vectors",
                         path=path)
    id_column = options.id_column or guess_id_column(metadata)
    text_column = guess_text_column(metadata, id_column)
    if options.id_column and options.id_column not in metadata.column_names:
        raise InputError(f"no column named {options.id_column!r} for ids", path=path,
                         hint="columns: " + ", ".join(metadata.column_names))
    if options.label_column:
        check_label_column(options.label_column, metadata.column_names, str(path))
    return EmbeddingSet(
        vectors=vectors,
        metadata=metadata,
        name=path.stem,
        format=fmt.name,
        source=[str(path.resolve())] + ([str(meta_path.resolve())] if meta_path else []),
        metric=loaded.metric or "cosine",
        vector_column=loaded.vector_column,
        id_column=id_column,
        text_column=text_column,
        label_column=options.label_column or guess_label_column(metadata, id_column,
                                                                text_column),
        notes=list(loaded.notes),
    )


def _misbehaved(fmt: Format, error: str) -> InputError:
    entry = plugins.registry().find("loader", fmt.name)
    return entry.fail(error) if entry is not None and fmt.plugin else InputError(
        f"{fmt.name}: {error}")


def _join_metadata(own: pa.Table | None, meta_path: Path, n: int) -> pa.Table:
    extra = tables.read_metadata_file(meta_path, n)
    check_unique_names(extra.column_names, meta_path)
    if extra.num_rows != n:
        raise InputError(f"metadata file has {extra.num_rows} rows but there are {n} vectors; "
                         "rows are joined by order, so the counts must match", path=meta_path)
    if own is None or own.num_columns == 0:
        return extra
    return append_columns(own, extra)[0]


def append_columns(own: pa.Table, extra: pa.Table) -> tuple[pa.Table, dict[str, str]]:
    """`own` with `extra`'s columns after it (rows matched by order), and what each of
    `extra`'s columns is called there: a name `own` has already gets `_meta` (then
    `_meta2`, ...), so no column is lost and no name is held twice."""
    names: dict[str, str] = {}
    taken = set(own.column_names) | set(extra.column_names)
    for name in extra.column_names:
        stored = name
        if name in own.column_names:
            stored, i = f"{name}_meta", 2
            while stored in taken:
                stored, i = f"{name}_meta{i}", i + 1
            taken.add(stored)
        own = own.append_column(stored, extra.column(name))
        names[name] = stored
    return own, names


__all__ = ["ID_NAMES", "TEXT_NAMES", "LoadOptions", "append_columns", "detect_format", "formats",
           "open_file", "supported_extensions"]
