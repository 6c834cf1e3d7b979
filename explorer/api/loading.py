"""`explorer.load`: an array or a table stored in the library, or a file or library set opened.

Vectors given from Python are stored like an imported file (core/library.py `import_set`:
the same checks, NaN rows refused, float32 + Parquet), so the app, the CLI and a later
script all see the same set. Loading the same vectors with the same metadata, metric and
model again gives the stored set back instead of a second copy: the set records a digest
of what it was made from (`source` is `array:<blake2b>` of the vectors, metadata, metric
and model), looked up before anything is written. Another `name` asks for a set of that
name, so it stores a copy under it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from explorer.api.sets import Set
from explorer.compute.vectors import check_metric
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.library import Library
from explorer.core.manifest import LibraryEntry
from explorer.core.vector_checks import chunk_rows

FORMAT = "python"  # the `format` of sets stored from Python objects
SOURCE_PREFIX = "array:"
DEFAULT_NAME = "array"


def load(data: Any, metadata: Any = None, name: str | None = None, metric: str | None = None,
         model: str | None = None, *, vector_column: str | None = None,
         trust_model: bool = False) -> Set:
    """A library set for `data`, stored first when it is vectors held in Python.

    `data`: a 2-D array (n items x d dimensions); a pyarrow Table or pandas DataFrame with
    one list (or fixed-size list) column of vectors, or one numeric column per dimension,
    and metadata columns; a file path (imported, or reopened if imported unchanged before,
    as the CLI does); a library id or name; or 'demo'. `metadata`: a Table, DataFrame or
    dict of columns with one row per vector (for a file: the path of a metadata file).
    `metric` (cosine, dot, l2; default cosine) and `model` (an installed model's name,
    checked against the vectors as `import --model` does) describe vectors being stored.
    """
    if data is None:
        raise InputError("nothing to load: give vectors (an array or a table), a file path "
                         "or a library set's id or name")
    if isinstance(data, Set):
        _stored_already(f"set {data.id!r}", metadata=metadata, name=name, metric=metric,
                        model=model, vector_column=vector_column)
        return data
    library = Library()
    if isinstance(data, (str, os.PathLike)):
        return _open(library, data, metadata, name, metric, model, vector_column, trust_model)
    table = as_table(data, "data")
    if table is not None:
        from explorer.core.loaders.columns import split_vectors

        vectors, own, vector_column = split_vectors(table, None, vector_column)
    else:
        if vector_column is not None:
            raise InputError("vector_column names a column of a table; an array has none")
        vectors, own = as_matrix(data), None
    meta = _metadata(own, metadata, vectors.shape[0])
    return _store(library, vectors, meta, name, metric or "cosine", model, vector_column,
                  trust_model)


def _open(library: Library, key: str | os.PathLike, metadata: Any, name: str | None,
          metric: str | None, model: str | None, vector_column: str | None,
          trust_model: bool) -> Set:
    """A file, imported with these options (or reopened), or a stored set opened as it is."""
    path = Path(key).expanduser()
    if not path.exists():
        _stored_already(f"{str(key)!r} is no file, so a library set", metadata=metadata,
                        name=name, metric=metric, model=model, vector_column=vector_column)
        return _opened(library, str(key), None)
    if metadata is not None and not isinstance(metadata, (str, os.PathLike)):
        raise InputError("with a file, metadata is the path of a metadata file",
                         hint="or load the vectors as an array with a table of metadata")
    if name is not None and not name.strip():
        raise InputError("the name is empty; give the set a name or leave it out")
    if metric is not None:
        check_metric(metric)
    options = ImportOptions(vector_column=vector_column, metric=metric,
                            metadata_path=None if metadata is None else str(metadata))
    if model is None:
        entry = library.import_file(path, options, name=name)
    else:
        from explorer.compute.encoding.model_check import import_with_model

        entry = import_with_model(library, path, options, model, trust_model, name=name)
    return _opened(library, entry.id, entry)


def _stored_already(what: str, **options: Any) -> None:
    """Refuse options that describe vectors being stored, given for a set stored already."""
    given = [k for k, v in options.items() if v is not None]
    if given:
        verb = "apply" if len(given) > 1 else "applies"
        raise InputError(f"{' and '.join(given)} {verb} to vectors being stored, and {what} "
                         "is stored already: it is opened as it is",
                         hint="`embedding-explorer rename`, `set-model` and "
                              "`attach-metadata` change a stored set")


def _opened(library: Library, key: str, entry: LibraryEntry | None) -> Set:
    if key == "demo":
        from explorer.compute.demo import ensure_demo

        entry = ensure_demo(library)
    entry = entry or library.entry(key)
    return Set(library.open(entry.id), entry)


def _store(library: Library, vectors: np.ndarray, meta: pa.Table, name: str | None,
           metric: str, model: str | None, vector_column: str | None,
           trust_model: bool) -> Set:
    if name is not None and not name.strip():
        raise InputError("the name is empty; give the set a name or leave it out")
    check_metric(metric)
    label = None if model is None else model_label_of(model)
    source = SOURCE_PREFIX + digest(vectors, meta, metric, label)
    for entry in library.entries():
        if entry.format == FORMAT and entry.source == [source] and name in (None, entry.name):
            entry.reused = True
            return Set(library.open(entry.id), entry)
    from explorer.core.loaders.guesses import guess_id_column, guess_text_column

    id_column = guess_id_column(meta)
    es = EmbeddingSet(vectors=vectors, metadata=meta, name=name or DEFAULT_NAME, format=FORMAT,
                      source=[source], metric=metric, vector_column=vector_column,
                      id_column=id_column, text_column=guess_text_column(meta, id_column),
                      notes=["stored from Python by explorer.load"])
    if model is not None:
        from explorer.compute.encoding.model_check import attach_model

        attach_model(es, model, trust_model)
    try:
        entry = library.import_set(es, name=name)
    except InputError as exc:
        if exc.path != source:
            raise
        # what is wrong is in the caller's array, which has no file name to give
        raise InputError(exc.message, row=exc.row, column=exc.column, hint=exc.hint,
                         choices=exc.choices, option=exc.option) from None
    return Set(library.open(entry.id), entry)


def model_label_of(model: str) -> str:
    """What a set made with `model` records: an installed model's label, else the name."""
    from explorer.compute.encoding.model_check import model_label, resolve_model

    try:
        return model_label(resolve_model(model))
    except InputError:
        return model.strip()


def as_table(data: Any, what: str) -> pa.Table | None:
    """`data` as an Arrow table when it is one (a Table, a RecordBatch, a pandas DataFrame or
    a dict of columns); None when it is something else (an array)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    try:
        if _is_dataframe(data):
            table = pa.Table.from_pandas(data, preserve_index=False)
            return table.replace_schema_metadata(None)  # pandas' own notes, not data
        if isinstance(data, dict):
            return pa.table(data)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InputError(f"{what} cannot be read as a table ({exc})") from None
    return None


def _is_dataframe(data: Any) -> bool:
    """A pandas DataFrame, told without importing pandas (it is not a dependency)."""
    return any(c.__module__.startswith("pandas") and c.__name__ == "DataFrame"
               for c in type(data).__mro__)


def as_matrix(data: Any) -> np.ndarray:
    """`data` as an (n, d) array of numbers, refused as the .npy loader refuses a file."""
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as exc:
        raise InputError(f"the vectors cannot be read as an array ({exc})") from None
    if array.dtype.hasobject or array.dtype.kind not in "fiub":
        raise InputError(f"holds {array.dtype} values, not numbers",
                         hint="give a numeric array such as float32")
    if array.ndim != 2:
        raise InputError(f"array has shape {array.shape}; expected 2-D (items x dimensions)")
    n, d = array.shape
    if n == 0:
        raise InputError("holds no vectors")
    if d < 2:
        raise InputError(f"vectors have dimension {d}; at least 2 are needed to compare "
                         "directions")
    return array


def _metadata(own: pa.Table | None, extra: Any, n: int) -> pa.Table:
    """The table's own columns, then those of `metadata` (rows matched by order)."""
    table = None if extra is None else as_table(extra, "metadata")
    if extra is not None and table is None:
        raise InputError(f"metadata is a {type(extra).__name__}; give a pyarrow Table, a "
                         "pandas DataFrame or a dict of columns")
    if table is not None:
        from explorer.core.loaders.columns import check_unique_names

        check_unique_names(table.column_names, None)
        if table.num_rows != n:
            raise InputError(f"metadata has {table.num_rows} rows but there are {n} vectors; "
                             "rows are joined by order, so the counts must match")
    if own is not None and own.num_columns and table is not None:
        from explorer.core.loaders import append_columns

        return append_columns(own, table)[0]
    chosen = table if table is not None else own
    if chosen is None or chosen.num_columns == 0:
        return pa.table({"row": np.arange(n, dtype=np.int64)})
    return chosen


def digest(vectors: np.ndarray, meta: pa.Table, metric: str, model: str | None) -> str:
    """blake2b of what a set is made of: the vectors as stored (float32 rows), the metadata
    (Arrow IPC), the metric and the model's label."""
    h = hashlib.blake2b(digest_size=16)
    n, d = vectors.shape
    h.update(f"{n}x{d};{metric};{model};".encode())
    step = chunk_rows(d)
    for start in range(0, n, step):
        h.update(np.ascontiguousarray(vectors[start:start + step], dtype=np.float32).data)
    sink = pa.BufferOutputStream()
    table = meta.replace_schema_metadata(None).combine_chunks()
    # pandas gives text as large_string, a dict of lists as string: the same metadata
    small = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}
    table = table.cast(pa.schema([f.with_type(small.get(f.type, f.type)) for f in table.schema]))
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    h.update(sink.getvalue())
    return h.hexdigest()
