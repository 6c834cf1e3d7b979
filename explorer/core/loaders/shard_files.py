"""Shard files of one set (a folder, a glob or a list), checked from their footers before use.

Shards come from elsewhere (a Ray job, a pipeline, a colleague) and are untrusted like any
file: every footer is read and checked before anything is decoded: the same vector column
of the same list type and dimension in each, the same metadata columns, row counts that add
up (a Parquet footer's row groups against its total, parsed in Python as the loader does).
A shard that fails is named with its file. The footer's digest, size and modification time
are recorded, so a shard changed after the import is named when the set is opened.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import ipc

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders import parquet_footer
from explorer.core.loaders.base import available_memory, read_head, size_text
from explorer.core.loaders.columns import check_unique_names
from explorer.core.loaders.list_columns import is_list_of_numbers
from explorer.core.loaders.table_checks import check_column_count, check_utf8
from explorer.core.sharded import ARROW, ARROW_ERRORS, PARQUET, Shard, ShardedVectors

SUFFIXES = (".parquet", ".pq", ".arrow", ".feather", ".ipc")
_DIGEST_BYTES = 16
_ARROW_TAIL = 10  # int32 footer length + "ARROW1"


@dataclass
class ShardScan:
    """What the footers of a set's shards say, once they agree."""

    shards: list[Shard]
    dim: int
    vector_column: str
    vector_type: pa.DataType
    metadata_schema: pa.Schema  # the columns other than the vectors

    def vectors(self) -> ShardedVectors:
        return ShardedVectors(self.shards, self.dim, self.vector_column)


def shard_paths(items: Sequence[str | Path]) -> list[Path]:
    """The shard files `items` name: folders (their Parquet/Arrow files, by name), glob
    patterns (the files they match, by name) or files, each file once, in that order."""
    out: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file()
                           and not p.name.startswith(".") and p.suffix.lower() in SUFFIXES)
            if not found:
                raise InputError("the folder holds no Parquet or Arrow shard files", path=path,
                                 hint="shards end in " + ", ".join(SUFFIXES))
        elif path.exists():
            found = [path]
        elif glob.has_magic(str(item)):
            found = sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
            if not found:
                raise InputError(f"the pattern {str(item)!r} matches no files")
        else:
            raise InputError("no such file or folder", path=path)
        out.extend(found)
    resolved = list(dict.fromkeys(p.resolve() for p in out))
    if not resolved:
        raise InputError("no shard files were given")
    return resolved


def scan_shards(paths: Sequence[Path], vector_column: str | None = None,
                state: TaskState | None = None) -> ShardScan:
    """Check every shard's footer against the first one's; InputError naming the file."""
    state = state or TaskState()
    shards: list[Shard] = []
    first: tuple[str, pa.DataType, int, pa.Schema, Path] | None = None
    for i, path in enumerate(paths):
        state.progress(i, len(paths))
        shard, schema = _footer(Path(path))
        column = vector_column if first is None else first[0]
        column = _vector_column(schema, path, column)
        vtype = schema.field(column).type
        meta = schema.remove(schema.get_field_index(column))
        if first is None:
            check_unique_names(schema.names, path)
            dim = _dim(path, shard.kind, column, vtype)
            first = (column, vtype, dim, meta, path)
        else:
            _same_as_first(path, shard.kind, column, vtype, meta, first)
        shards.append(shard)
    state.progress(1)
    assert first is not None
    if sum(s.rows for s in shards) == 0:
        raise InputError("the shards hold no rows", path=first[4])
    return ShardScan(shards, first[2], first[0], first[1], first[3])


def _footer(path: Path) -> tuple[Shard, pa.Schema]:
    """The shard's record and schema, from its footer only."""
    try:
        st = os.stat(path)
        head = read_head(path, 8)
        if head[:4] == b"PAR1":
            groups = parquet_footer.row_groups(path)  # in Python: safe on a hostile footer
            pf = pq.ParquetFile(path)
            check_column_count(path, pf.metadata.num_columns)
            rows = pf.metadata.num_rows
            if rows < 0 or rows != sum(max(g.num_rows, 0) for g in groups):
                raise InputError(f"damaged footer: it declares {rows} rows but its row groups "
                                 f"hold {sum(g.num_rows for g in groups)}", path=path)
            schema, kind = pf.schema_arrow, PARQUET
        elif head[:6] == b"ARROW1":
            with pa.memory_map(str(path)) as source:
                reader = ipc.open_file(source)
                check_column_count(path, len(reader.schema))
                rows = sum(reader.get_batch(b).num_rows
                           for b in range(reader.num_record_batches))
                schema, kind = reader.schema, ARROW
        elif head[:4] == b"\xff\xff\xff\xff":
            raise InputError("an Arrow IPC stream has no footer to check or to read rows by",
                             path=path, hint="write the shard as an Arrow IPC file (Feather "
                                             "v2, pyarrow.feather.write_feather)")
        else:
            raise InputError("not a Parquet or Arrow IPC file", path=path)
        digest = _digest(path, kind)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except ARROW_ERRORS as exc:
        raise InputError(f"not a readable shard ({exc})", path=path) from None
    return Shard(str(path), kind, int(rows), st.st_size, st.st_mtime_ns, digest), schema


def _digest(path: Path, kind: str) -> str:
    """blake2b of the footer: what a rewritten file changes, read without the data."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        tail = _ARROW_TAIL if kind == ARROW else 8
        if size < tail + 4:
            raise InputError("too short to hold a footer", path=path)
        fh.seek(size - tail)
        length = int.from_bytes(fh.read(4), "little", signed=True)
        if not 0 <= length <= size - tail:
            raise InputError("damaged footer (its length is out of the file)", path=path)
        fh.seek(size - tail - length)
        return hashlib.blake2b(fh.read(length + tail), digest_size=_DIGEST_BYTES).hexdigest()


def shard_changed(shard: Shard) -> str | None:
    """Why a recorded shard is not what was imported (None when it is), without its data."""
    path = Path(shard.path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"the shard {path} is missing"
    except OSError as exc:
        return f"the shard {path} cannot be read ({exc.strerror or exc})"
    if st.st_size != shard.size or st.st_mtime_ns != shard.mtime_ns:
        return f"the shard {path} changed since it was imported (its size or time differs)"
    try:
        digest = _digest(path, shard.kind)
    except (InputError, OSError) as exc:
        return f"the shard {path} cannot be read ({exc})"
    if digest != shard.digest:
        return f"the shard {path} changed since it was imported (its footer differs)"
    return None


def _vector_column(schema: pa.Schema, path: Path, requested: str | None) -> str:
    if requested is not None:
        if requested not in schema.names:
            raise InputError(f"no column named {requested!r} for the vectors", path=path,
                             hint="columns: " + ", ".join(schema.names))
        if not is_list_of_numbers(schema.field(requested).type):
            raise InputError(f"the column is {schema.field(requested).type}, not a list of "
                             "numbers", path=path, column=requested)
        return requested
    lists = [f.name for f in schema if is_list_of_numbers(f.type)]
    if len(lists) == 1:
        return lists[0]
    if not lists:
        raise InputError("no vector column (a list of numbers per row) in this shard",
                         path=path, hint="columns: " + ", ".join(schema.names))
    raise InputError("several list columns could be the vectors: " + ", ".join(lists),
                     path=path, choices=tuple(lists), option="vector_column",
                     hint="name one with --vector-column")


def _dim(path: Path, kind: str, column: str, vtype: pa.DataType) -> int:
    """The vectors' dimension: the type's for a fixed-size list, else the first row's."""
    if pa.types.is_fixed_size_list(vtype):
        dim = vtype.list_size
    else:
        try:
            if kind == PARQUET:
                batch = next(pq.ParquetFile(path).iter_batches(batch_size=1, columns=[column]),
                             None)
            else:
                with pa.memory_map(str(path)) as source:
                    reader = ipc.open_file(source)
                    batch = reader.get_batch(0).slice(0, 1) if reader.num_record_batches \
                        else None
        except ARROW_ERRORS as exc:
            raise InputError(f"not a readable shard ({exc})", path=path) from None
        if batch is None or not batch.num_rows or batch.column(column)[0].as_py() is None:
            raise InputError("the first row holds no vector to tell the dimension by",
                             path=path, row=0, column=column)
        dim = len(batch.column(column)[0].as_py())
    if dim < 2:
        raise InputError(f"vectors have dimension {dim}; at least 2 are needed to compare "
                         "directions", path=path, column=column)
    return dim


def _same_as_first(path: Path, kind: str, column: str, vtype: pa.DataType, meta: pa.Schema,
                   first: tuple[str, pa.DataType, int, pa.Schema, Path]) -> None:
    _, first_type, dim, first_meta, first_path = first
    if vtype != first_type:
        raise InputError(f"the vector column is {vtype} here but {first_type} in the first "
                         f"shard ({first_path.name})", path=path, column=column)
    if not pa.types.is_fixed_size_list(vtype) and _dim(path, kind, column, vtype) != dim:
        raise InputError(f"the vectors have {_dim(path, kind, column, vtype)} values here but "
                         f"{dim} in the first shard ({first_path.name})", path=path,
                         column=column)
    if meta.names != first_meta.names:
        extra = [c for c in meta.names if c not in first_meta.names]
        gone = [c for c in first_meta.names if c not in meta.names]
        what = (f"has column {extra[0]!r}, which" if extra else f"lacks column {gone[0]!r}, "
                "which") if extra or gone else "orders its columns otherwise than"
        raise InputError(f"this shard {what} the first shard ({first_path.name})"
                         + (" has not" if extra else " has" if gone else ""), path=path)
    for field in meta:
        other = first_meta.field(field.name).type
        if field.type != other:
            raise InputError(f"the column is {field.type} here but {other} in the first shard "
                             f"({first_path.name})", path=path, column=field.name)


def read_metadata(scan_or_vectors: ShardScan | ShardedVectors, columns: list[str],
                  state: TaskState | None = None) -> pa.Table:
    """The shards' metadata columns (never the vectors) as one table, rows in shard order.

    Parquet columns are decoded once their declared sizes are known to fit in memory;
    Arrow IPC ones stay memory-mapped. A set without metadata gets a `row` column.
    """
    state = state or TaskState()
    shards = scan_or_vectors.shards
    n = sum(s.rows for s in shards)
    if not columns:
        return pa.table({"row": np.arange(n, dtype=np.int64)})
    parts = []
    need = sum(_declared_bytes(Path(s.path), columns) for s in shards if s.kind == PARQUET)
    if need > available_memory():
        raise InputError(f"the shards' metadata needs about {size_text(need)} once read, but "
                         f"only {size_text(available_memory())} of memory is free",
                         path=shards[0].path)
    for i, s in enumerate(shards):
        path = Path(s.path)
        try:
            if s.kind == PARQUET:
                table = pq.ParquetFile(path).read(columns=columns)
            else:
                with pa.memory_map(str(path)) as source:
                    table = ipc.open_file(source).read_all().select(columns)
        except ARROW_ERRORS as exc:
            raise InputError(f"the shard's metadata cannot be read ({exc})", path=path) from None
        if table.num_rows != s.rows:
            raise InputError(f"the shard holds {table.num_rows:,} rows but held {s.rows:,} "
                             "when it was imported", path=path)
        check_utf8(table, path)
        parts.append(table)
        state.progress(i + 1, len(shards))
    return pa.concat_tables(parts)


def _declared_bytes(path: Path, columns: list[str]) -> int:
    """What the footer says `columns` take once decoded (text: offsets and characters)."""
    groups = parquet_footer.row_groups(path)
    schema = pq.ParquetFile(path).schema
    wanted = {i for i in range(len(schema)) if schema.column(i).path.split(".")[0] in columns}
    total = 0
    for g in groups:
        for i, chunk in enumerate(g.chunks):
            if i in wanted:
                total += max(chunk.uncompressed_size, 0) + 8 * max(chunk.num_values, g.num_rows)
    return total
