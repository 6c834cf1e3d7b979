"""Metadata queries through DuckDB: filter expressions and substring search, as row numbers."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from explorer.core.errors import InputError

ROW = "__explorer_row_5f1c"  # the row number; a name no data set will carry


class MetadataQuery:
    """Queries over one set's metadata (a library Parquet file or an in-memory table).

    Each call opens its own in-memory DuckDB connection, so queries may run on
    any worker thread.
    """

    def __init__(self, source: Path | pa.Table) -> None:
        self.source = source

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        con.execute("SET threads = 2")
        if isinstance(self.source, pa.Table):
            table = self.source.append_column(ROW, pa.array(np.arange(self.source.num_rows)))
            con.register("items_src", table)
            con.execute("CREATE VIEW items AS SELECT * FROM items_src")
        else:
            # The row number comes from the reader's position, never from a data column
            # (a set may well have its own 'file_row_number' column).
            path = str(self.source).replace("'", "''")
            con.execute(f"CREATE VIEW items AS SELECT t.*, (row_number() OVER () - 1) AS {ROW} "
                        f"FROM read_parquet('{path}') AS t")
        return con

    def filter(self, expression: str) -> np.ndarray:
        """Rows where `expression` (a SQL WHERE clause such as `size > 10`) is true."""
        expression = expression.strip()
        if not expression:
            raise InputError("the filter is empty")
        sql = f"SELECT {ROW} FROM items WHERE ({expression}) ORDER BY {ROW}"
        try:
            if len(duckdb.extract_statements(sql)) != 1:
                raise InputError(f"filter {expression!r}: one expression only, no ';'")
        except duckdb.Error as exc:
            raise InputError(f"filter {expression!r}: {_first_line(exc)}") from None
        return self._rows(sql, [], expression)

    def search(self, text: str, columns: list[str] | None = None) -> np.ndarray:
        """Rows where any text column contains `text` (case-insensitive)."""
        try:
            with self._connect() as con:
                schema = con.execute("DESCRIBE items").fetchall()
        except duckdb.Error as exc:
            raise InputError(f"search {text!r}: {_first_line(exc)}") from None
        text_cols = [name for name, typ, *_ in schema
                     if name != ROW and typ.upper() in ("VARCHAR", "TEXT", "STRING")
                     and (columns is None or name in columns)]
        if not text_cols or not text:
            return np.zeros(0, dtype=np.int64)
        cond = " OR ".join(f"contains(lower({_quote(c)}), lower($1))" for c in text_cols)
        return self._rows(f"SELECT {ROW} FROM items WHERE {cond} ORDER BY {ROW}", [text], text)

    def _rows(self, sql: str, params: list, what: str) -> np.ndarray:
        try:
            with self._connect() as con:
                rows = con.execute(sql, params).fetchnumpy()[ROW]
        except duckdb.Error as exc:
            raise InputError(f"filter {what!r}: {_first_line(exc)}") from None
        return np.asarray(rows, dtype=np.int64)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
