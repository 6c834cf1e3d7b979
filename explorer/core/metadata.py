"""Metadata queries through DuckDB: filter expressions and substring search, as row numbers.

Every query runs on a connection that can read the set's own metadata file and nothing
else: no other file, no network, no extension install or load, and its configuration is
locked so an expression cannot undo that. Filters are also checked to be one expression
over the set's columns (`sql_expression`) before they run.

A sharded set's metadata is queried in its shard files, in place: the connection may read
exactly those files, and view `items` is the shards one after another (UNION ALL, each
with its own row offset) without the vector column. Parquet shards are read by DuckDB;
Arrow IPC shards, which DuckDB cannot open without an extension, are handed over as
memory-mapped Arrow tables.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import ipc

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.sql_expression import check_expression, plain_message, wrap

ROW = "__explorer_row_5f1c"  # the row number; a name no data set will carry


class MetadataQuery:
    """Queries over one set's metadata (a library Parquet file, an in-memory table, or the
    shard files of a sharded set, whose vector column `exclude` names).

    Each call opens its own in-memory DuckDB connection, so queries may run on
    any worker thread.
    """

    def __init__(self, source: Path | pa.Table | list[Path], exclude: str | None = None) -> None:
        self.source = source
        self.exclude = exclude

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A restricted connection (see `restricted_connection`) with the set as view `items`."""
        if isinstance(self.source, list):
            return self._connect_shards(self.source)
        if isinstance(self.source, pa.Table):
            con = restricted_connection([])
            table = self.source.append_column(ROW, pa.array(np.arange(self.source.num_rows)))
            con.register("items_src", table)
            con.execute("CREATE VIEW items AS SELECT * FROM items_src")
        else:
            path = str(Path(self.source).resolve())
            con = restricted_connection([path])
            # The row number comes from the reader's position, never from a data column
            # (a set may well have its own 'file_row_number' column).
            quoted = path.replace("'", "''")
            con.execute(f"CREATE VIEW items AS SELECT t.*, (row_number() OVER () - 1) AS {ROW} "
                        f"FROM read_parquet('{quoted}') AS t")
        return con

    def _connect_shards(self, shards: list[Path]) -> duckdb.DuckDBPyConnection:
        paths = [str(Path(p).resolve()) for p in shards]
        parquet = [p for p in paths if not _is_arrow(p)]
        con = restricted_connection(parquet)
        try:
            parts, offset = [], 0
            drop = f" EXCLUDE ({_quote(self.exclude)})" if self.exclude else ""
            for i, path in enumerate(paths):
                if _is_arrow(path):
                    with pa.memory_map(path) as source:
                        table = ipc.open_file(source).read_all()
                    if self.exclude:
                        table = table.drop_columns([self.exclude])
                    con.register(f"shard_{i}", table)
                    rows, scan, columns = table.num_rows, f"shard_{i}", "t.*"
                else:
                    rows = pq.ParquetFile(path).metadata.num_rows
                    scan = "read_parquet('" + path.replace("'", "''") + "')"
                    columns = f"t.*{drop}"
                # the row number comes from the reader's position, never from a data column
                parts.append(f"SELECT {columns}, (row_number() OVER () - 1 + {offset}) AS {ROW} "
                             f"FROM {scan} AS t")
                offset += rows
            con.execute("CREATE VIEW items AS " + " UNION ALL ".join(parts))
        except (duckdb.Error, OSError, pa.ArrowException) as exc:
            con.close()
            raise InputError(f"cannot read the shards' metadata: {plain_message(exc)}") from None
        except BaseException:
            con.close()
            raise
        return con

    def columns(self) -> list[str]:
        """The set's metadata columns (without the row number)."""
        if isinstance(self.source, pa.Table):
            return list(self.source.column_names)
        first = self.source[0] if isinstance(self.source, list) else self.source
        try:
            if _is_arrow(str(first)):
                with pa.memory_map(str(first)) as source:
                    names = ipc.open_file(source).schema.names
            else:
                names = pq.read_schema(first).names
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"cannot read the metadata file: {exc}", path=str(first)) from None
        return [n for n in names if n != self.exclude]

    def filter(self, expression: str) -> np.ndarray:
        """Rows where `expression` (a SQL WHERE clause such as `size > 10`) is true."""
        expression = expression.strip()
        if not expression:
            raise InputError("the filter is empty")
        with restricted_connection([]) as con:
            check_expression(con, expression, self.columns())
        sql = wrap(expression).replace("SELECT *", f"SELECT {ROW}", 1) + f" ORDER BY {ROW}"
        return self._rows(sql, [], expression)

    def search(self, text: str, columns: list[str] | None = None) -> np.ndarray:
        """Rows where any text column contains `text` (case-insensitive)."""
        try:
            with self.connect() as con:
                schema = con.execute("DESCRIBE items").fetchall()
        except duckdb.Error as exc:
            raise InputError(f"search {text!r}: {plain_message(exc)}") from None
        text_cols = [name for name, typ, *_ in schema
                     if name != ROW and typ.upper() in ("VARCHAR", "TEXT", "STRING")
                     and (columns is None or name in columns)]
        if not text_cols or not text:
            return np.zeros(0, dtype=np.int64)
        cond = " OR ".join(f"contains(lower({_quote(c)}), lower($1))" for c in text_cols)
        return self._rows(f"SELECT {ROW} FROM items WHERE {cond} ORDER BY {ROW}", [text], text)

    def _rows(self, sql: str, params: list, what: str) -> np.ndarray:
        try:
            with self.connect() as con:
                rows = con.execute(sql, params).fetchnumpy()[ROW]
        except duckdb.Error as exc:
            raise InputError(f"filter {what!r}: {plain_message(exc)}") from None
        return np.asarray(rows, dtype=np.int64)


def restricted_connection(readable: list[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that may read only the files in `readable`, with its settings locked."""
    con = duckdb.connect(":memory:", config={
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "threads": 2,
        "memory_limit": "2GB",
    })
    try:
        if readable:
            listed = ", ".join("'" + p.replace("'", "''") + "'" for p in readable)
            con.execute(f"SET allowed_paths = [{listed}]")
        con.execute("SET temp_directory = ''")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def query_for(es: EmbeddingSet) -> MetadataQuery:
    """The query over a set's metadata where it is stored: the library's Parquet file, the
    shards of a sharded set in place, or the table in memory (a set not in the library)."""
    from explorer.core.sharded import ShardedVectors

    if isinstance(es.vectors, ShardedVectors):
        query = MetadataQuery(es.vectors.paths, exclude=es.vectors.vector_column)
        if query.columns():
            return query  # shards of vectors alone: their `row` column is in memory only
    path = metadata_file(es)
    return MetadataQuery(es.metadata if path is None else path)


def metadata_file(es: EmbeddingSet) -> Path | None:
    """The library's Parquet file of a set's metadata, or None when it has none: a set not
    in the library, or a sharded one (its metadata is in its shards: see `query_for`)."""
    from explorer.core.library import METADATA
    from explorer.core.sharded import ShardedVectors

    if es.path is None or isinstance(es.vectors, ShardedVectors):
        return None
    return Path(es.path) / METADATA


def _is_arrow(path: str) -> bool:
    """An Arrow IPC file (by its magic bytes; a Parquet file starts with PAR1)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(6) == b"ARROW1"
    except OSError:
        return False


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

