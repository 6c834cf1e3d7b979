"""Write selections and coordinates to files other tools read (CSV, Parquet)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from explorer.core.atomic import output_target, write_output
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError

FORMATS = (".csv", ".tsv", ".parquet")


def check_table_path(path: str | Path) -> Path:
    """`path`, expanded, if a table can be written there; InputError saying why not.

    The format comes from the extension; commands call this before their work,
    so a wrong --out is refused at once, not after a long computation.
    """
    named, _, _ = output_target(path)
    if named.suffix.lower() not in FORMATS:
        raise InputError(f"cannot write {named.suffix or 'files without an extension'}",
                         path=named, hint="use " + ", ".join(FORMATS))
    return named


def write_table(table: pa.Table, path: str | Path) -> Path:
    """CSV, TSV or Parquet by the file's extension, into what `path` names (see `write_output`)."""
    path = check_table_path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return write_output(path, lambda fh: pq.write_table(table, fh, compression="zstd"))
    # CSV cannot hold nested values: lists are written as text
    flat = pa.table({n: c if not pa.types.is_nested(c.type) else
                     pa.array([None if v is None else str(v) for v in c.to_pylist()])
                     for n, c in zip(table.column_names, table.columns)})
    options = pacsv.WriteOptions(delimiter="\t" if suffix == ".tsv" else ",")
    return write_output(path, lambda fh: pacsv.write_csv(flat, fh, options))


def export_rows(es: EmbeddingSet, rows: np.ndarray, path: Path) -> Path:
    """The chosen items: their row numbers and all their metadata."""
    rows = np.asarray(rows, dtype=np.int64)
    table = es.metadata.take(pa.array(rows))
    if "row" not in table.column_names:
        table = table.add_column(0, "row", pa.array(rows))
    return write_table(table, path)


def export_coordinates(es: EmbeddingSet, coords: np.ndarray, path: Path,
                       extra: Mapping[str, np.ndarray] | None = None) -> Path:
    """Map coordinates per item (x, y[, z]) with the row number and id, if the set has one,
    then `extra` columns (the map's cluster per level: `level_0`, `level_1`, ...)."""
    if len(coords) != es.count:
        raise InputError(f"{len(coords)} coordinates for {es.count} items")
    for name, values in (extra or {}).items():
        if len(values) != es.count:
            raise InputError(f"{len(values)} values of {name} for {es.count} items")
    columns = {"row": pa.array(np.arange(es.count, dtype=np.int64))}
    if es.id_column:
        columns[es.id_column] = es.metadata.column(es.id_column)
    for axis, name in zip(range(coords.shape[1]), "xyz"):
        columns[name] = pa.array(np.asarray(coords[:, axis], dtype=np.float32))
    for name, values in (extra or {}).items():
        columns[name] = pa.array(np.asarray(values))
    return write_table(pa.table(columns), path)
