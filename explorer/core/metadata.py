"""Metadata queries through DuckDB: filter expressions and substring search, as row numbers.

Every query runs on a connection that can read the set's own metadata file and nothing
else: no other file, no network, no extension install or load, and its configuration is
locked so an expression cannot undo that. Filters are also checked to be one expression
over the set's columns (`sql_expression`) before they run.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.core.errors import InputError
from explorer.core.sql_expression import check_expression, plain_message, wrap

ROW = "__explorer_row_5f1c"  # the row number; a name no data set will carry


class MetadataQuery:
    """Queries over one set's metadata (a library Parquet file or an in-memory table).

    Each call opens its own in-memory DuckDB connection, so queries may run on
    any worker thread.
    """

    def __init__(self, source: Path | pa.Table) -> None:
        self.source = source

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A restricted connection (see `restricted_connection`) with the set as view `items`."""
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

    def columns(self) -> list[str]:
        """The set's metadata columns (without the row number)."""
        if isinstance(self.source, pa.Table):
            return list(self.source.column_names)
        try:
            return list(pq.read_schema(self.source).names)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"cannot read the metadata file: {exc}", path=str(self.source)) from None

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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

