"""Open embedding files: pick a format by extension, confirm it by content, run shared checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders import arrays, tables, word_vectors
from explorer.core.loaders.base import Format, LoadOptions, check_fits_in_memory, read_head
from explorer.core.loaders.columns import check_unique_names

FORMATS: list[Format] = [
    Format("npy", (".npy",), arrays.sniff_npy, arrays.load_npy, memory_mapped=True,
           description="NumPy array (memory-mapped)"),
    Format("npz", (".npz",), arrays.sniff_npz, arrays.load_npz, ram_per_file_byte=2.0,
           description="NumPy archive"),
    Format("parquet", (".parquet", ".pq"), tables.sniff_parquet, tables.load_parquet,
           ram_per_file_byte=3.0, description="Parquet table with a vector column"),
    Format("arrow", (".arrow", ".feather", ".ipc"), tables.sniff_arrow, tables.load_arrow,
           ram_per_file_byte=1.5, description="Arrow IPC / Feather table"),
    Format("hdf5", (".h5", ".hdf5", ".hdf"), arrays.sniff_hdf5, arrays.load_hdf5,
           ram_per_file_byte=1.2, description="HDF5 (ann-benchmarks layout understood)"),
    Format("fvecs", (".fvecs", ".bvecs", ".ivecs"), arrays.sniff_vecs, arrays.load_vecs,
           memory_mapped=True, description="TEXMEX .fvecs / .bvecs / .ivecs"),
    Format("csv", (".csv", ".tsv", ".tab"), tables.sniff_text_table, tables.load_csv,
           ram_per_file_byte=1.5, description="CSV / TSV (also the Projector vectors.tsv)"),
    Format("jsonl", (".jsonl", ".ndjson", ".json"), tables.sniff_jsonl, tables.load_jsonl,
           ram_per_file_byte=2.0, description="JSON Lines with an embedding field"),
    Format("word2vec-text", (".txt", ".vec"), word_vectors.sniff_word_text,
           word_vectors.load_word_text, ram_per_file_byte=1.5,
           description="word2vec / GloVe / fastText text"),
    Format("word2vec-bin", (".bin",), word_vectors.sniff_word2vec_bin,
           word_vectors.load_word2vec_bin, ram_per_file_byte=1.3, description="word2vec binary"),
]

# Not "label": in classification sets (most Hugging Face datasets) it is the repeated class.
ID_NAMES = ("id", "ids", "_id", "uid", "key", "doc_id", "word", "name", "token")
TEXT_NAMES = ("text", "sentence", "document", "content", "body", "passage", "title", "caption",
              "word", "name", "label")
_MAGIC_FIRST = ("npy", "npz", "parquet", "arrow", "hdf5")


def supported_extensions() -> list[str]:
    return [ext for fmt in FORMATS for ext in fmt.extensions]


def detect_format(path: Path, head: bytes) -> Format:
    """The extension proposes, the content confirms."""
    suffix = path.suffix.lower()
    by_ext = next((f for f in FORMATS if suffix in f.extensions), None)
    if by_ext is not None:
        if by_ext.sniff(head, path):
            return by_ext
        actual = next((f for f in FORMATS if f.name in _MAGIC_FIRST and f.sniff(head, path)), None)
        found = f"it looks like {actual.name}" if actual else "its content does not match"
        raise InputError(f"the name says {by_ext.name} but {found}", path=path)
    for fmt in FORMATS:
        if fmt.name in _MAGIC_FIRST and fmt.sniff(head, path):
            return fmt
    raise InputError("unknown file type", path=path,
                     hint="supported: " + " ".join(supported_extensions()))


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
    id_column = options.id_column or _first_present(metadata, ID_NAMES, integers=True)
    if options.id_column and options.id_column not in metadata.column_names:
        raise InputError(f"no column named {options.id_column!r} for ids", path=path,
                         hint="columns: " + ", ".join(metadata.column_names))
    return EmbeddingSet(
        vectors=vectors,
        metadata=metadata,
        name=path.stem,
        format=fmt.name,
        source=[str(path.resolve())] + ([str(meta_path.resolve())] if meta_path else []),
        metric=loaded.metric or "cosine",
        vector_column=loaded.vector_column,
        id_column=id_column,
        text_column=_text_column(metadata, id_column),
        notes=list(loaded.notes),
    )


def _join_metadata(own: pa.Table | None, meta_path: Path, n: int) -> pa.Table:
    extra = tables.read_metadata_file(meta_path, n)
    check_unique_names(extra.column_names, meta_path)
    if extra.num_rows != n:
        raise InputError(f"metadata file has {extra.num_rows} rows but there are {n} vectors; "
                         "rows are joined by order, so the counts must match", path=meta_path)
    if own is None or own.num_columns == 0:
        return extra
    for name in extra.column_names:
        col = extra.column(name)
        own = own.append_column(name if name not in own.column_names else f"{name}_meta", col)
    return own


def _first_present(table: pa.Table, names: tuple[str, ...], integers: bool) -> str | None:
    lower = {c.lower(): c for c in table.column_names}
    for name in names:
        if name in lower:
            t = table.schema.field(lower[name]).type
            if _is_string(t) or (integers and pa.types.is_integer(t)):
                return lower[name]
    return None


def _text_column(table: pa.Table, id_column: str | None) -> str | None:
    """A text-like name first, else the first string column that is not the ids."""
    found = _first_present(table, TEXT_NAMES, integers=False)
    if found:
        return found
    strings = [c for c in table.column_names if _is_string(table.schema.field(c).type)]
    others = [c for c in strings if c != id_column]
    return (others or strings or [None])[0]


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


__all__ = ["FORMATS", "LoadOptions", "detect_format", "open_file", "supported_extensions"]
