"""An encode job's work folder: the windows finished so far, checked before a run resumes.

Each finished window adds its rows to `vectors.f32` (raw float32), its metadata as
one Parquet piece, and a record to `progress.json` (written last, atomically,
after both are on disk). The record holds, per window, the items it consumed, its
rows, the inputs it skipped, and a blake2b hash of its piece and of its stretch of
`vectors.f32`; the record carries a hash of itself. So a resumed run can tell work
it can trust from work that was cut short, edited or damaged on disk.

On resume the record is read strictly (any missing field, wrong type or hash that
does not match means it cannot be trusted), then each window is checked in order;
the first damaged one and every later one are dropped, and the run re-encodes from
there. Rows are never invented: a short `vectors.f32` is a damaged window, not
zeros. The caller holds the job's lock (job_lock.py) while a WorkFolder is open.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.core.atomic import write_json

VECTORS_FILE = "vectors.f32"
PROGRESS_FILE = "progress.json"
PROGRESS_VERSION = 2
HASH_BYTES = 16
READ_BLOCK = 1 << 24
_PIECE_FIELDS = {"file": str, "items": int, "rows": int, "meta_bytes": int,
                 "meta_blake2b": str, "vectors_blake2b": str, "skipped": list}
SKIPPED_FIELDS = {"path": str, "reason": str, "line": (int, type(None)),
                   "row": (int, type(None))}
_HEX = re.compile(rf"[0-9a-f]{{{2 * HASH_BYTES}}}")


class DamagedProgress(ValueError):
    """progress.json cannot be trusted; the message says why, in a few words."""


class WorkFolder:
    """The rows and metadata finished so far, and how many input items they cover.

    `notice` says what was wrong with an earlier run's work, when something was.
    """

    def __init__(self, root: Path, dim: int) -> None:
        self.root = root
        self.dim = dim
        self.vectors_path = root / VECTORS_FILE
        self.progress_path = root / PROGRESS_FILE
        self.notice: str | None = None
        root.mkdir(parents=True, exist_ok=True)
        self.progress = self._recover()

    @property
    def items_done(self) -> int:
        return sum(piece["items"] for piece in self.progress["pieces"])

    @property
    def rows(self) -> int:
        return sum(piece["rows"] for piece in self.progress["pieces"])

    def skipped(self) -> list[dict]:
        return [s for piece in self.progress["pieces"] for s in piece["skipped"]]

    def append(self, vectors: np.ndarray, meta: pa.Table, items: int, skipped: list) -> None:
        """Add one finished window: its rows, its metadata piece, then the record of both."""
        data = np.ascontiguousarray(vectors, dtype=np.float32).tobytes()
        sink = pa.BufferOutputStream()
        pq.write_table(meta, sink)
        piece_bytes = sink.getvalue().to_pybytes()
        name = piece_name(len(self.progress["pieces"]))
        partial = self.root / f".{name}.partial"  # a full disk leaves no half piece behind
        try:
            write_synced(partial, piece_bytes, "wb")
            os.replace(partial, self.root / name)
        finally:
            partial.unlink(missing_ok=True)
        write_synced(self.vectors_path, data, "ab")
        self.progress["pieces"].append({
            "file": name, "items": items, "rows": len(vectors),
            "meta_bytes": len(piece_bytes), "meta_blake2b": digest(piece_bytes),
            "vectors_blake2b": digest(data), "skipped": [asdict(s) for s in skipped]})
        write_json(self.progress_path, seal(self.progress))

    def vectors(self) -> np.ndarray:
        rows = self.rows
        if rows == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.memmap(self.vectors_path, dtype=np.float32, mode="r", shape=(rows, self.dim))

    def metadata(self) -> pa.Table:
        tables = [pq.read_table(self.root / piece["file"]) for piece in self.progress["pieces"]]
        return concat_tables(tables) if tables else pa.table({})

    # --- resuming ------------------------------------------------------------------------

    def _recover(self) -> dict:
        """The trusted part of an earlier run's work; anything else in the folder is removed."""
        empty = {"version": PROGRESS_VERSION, "dim": self.dim, "pieces": []}
        if not self.progress_path.exists():  # a new job, or one stopped before its first window
            self._keep([])
            return empty
        try:
            saved = read_progress(self.progress_path, self.dim)
        except DamagedProgress as exc:
            self.notice = (f"The progress saved by an earlier run of this encoding is unreadable "
                           f"({exc}); starting over")
            self._keep([])
            return empty
        good, problem = self._intact(saved["pieces"])
        kept = saved["pieces"][:good]
        self._keep(kept)
        progress = {**empty, "pieces": kept}
        if problem:
            done = sum(piece["items"] for piece in kept)
            self.notice = (f"Work saved by an earlier run of this encoding is damaged "
                           f"({problem}); " + (f"resuming after item {done:,}, the end of the "
                                               "last intact window" if kept else "starting over"))
            if kept:
                write_json(self.progress_path, seal(progress))
        return progress

    def _intact(self, pieces: list[dict]) -> tuple[int, str | None]:
        """How many windows from the start are intact, and what is wrong with the next one."""
        size = self.vectors_path.stat().st_size if self.vectors_path.is_file() else 0
        width = self.dim * 4
        offset = 0
        for index, piece in enumerate(pieces):
            where = f"window {index + 1} of {len(pieces)}"
            path = self.root / piece["file"]
            if not path.is_file():
                return index, f"{where}: its metadata file {piece['file']} is missing"
            if path.stat().st_size != piece["meta_bytes"] or file_digest(path) != \
                    piece["meta_blake2b"]:
                return index, f"{where}: its metadata file {piece['file']} has changed"
            length = piece["rows"] * width
            if offset + length > size:
                return index, f"{where}: {VECTORS_FILE} ends before its rows"
            if file_digest(self.vectors_path, offset, length) != piece["vectors_blake2b"]:
                return index, f"{where}: its rows in {VECTORS_FILE} have changed"
            offset += length
        return len(pieces), None

    def _keep(self, pieces: list[dict]) -> None:
        """Remove every file but the kept pieces, and vectors.f32 past their rows (only shrinks)."""
        keep = {piece["file"] for piece in pieces}
        if pieces:
            keep.add(PROGRESS_FILE)
        if self.vectors_path.is_file():
            keep.add(VECTORS_FILE)
        for path in self.root.iterdir():
            if path.name not in keep:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        rows = sum(piece["rows"] for piece in pieces)
        if VECTORS_FILE in keep:
            with open(self.vectors_path, "r+b") as fh:
                fh.truncate(min(rows * self.dim * 4, os.fstat(fh.fileno()).st_size))


def piece_name(index: int) -> str:
    return f"meta-{index:06d}.parquet"


def seal(progress: dict) -> dict:
    """The record as written: with a hash of its own content, so an edit or a bit flip shows."""
    return {**progress, "checksum": digest(_canonical(progress))}


def unseal(data: dict) -> dict:
    """The record without its checksum; DamagedProgress if the checksum does not match it."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    if data.get("checksum") != digest(_canonical(body)):
        raise DamagedProgress("its checksum does not match")
    return body


def read_progress(path: Path, dim: int) -> dict:
    """progress.json, checked field by field; DamagedProgress saying why it cannot be trusted."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise DamagedProgress(exc.strerror or "cannot be read") from None
    except (ValueError, RecursionError):
        raise DamagedProgress("not JSON") from None
    if not isinstance(data, dict):
        raise DamagedProgress("not a JSON object")
    if data.get("version") != PROGRESS_VERSION:
        raise DamagedProgress("written by another version of the app")
    check_fields(data, {"version": int, "dim": int, "pieces": list, "checksum": str}, "the record")
    body = unseal(data)
    if data["dim"] != dim:
        raise DamagedProgress(f"for {data['dim']} dimensions, not {dim}")
    for index, piece in enumerate(data["pieces"]):
        where = f"window {index + 1}"
        if not isinstance(piece, dict):
            raise DamagedProgress(f"{where} is not a JSON object")
        check_fields(piece, _PIECE_FIELDS, where)
        if piece["file"] != piece_name(index):
            raise DamagedProgress(f"{where} names the file {piece['file']!r}")
        if not 0 <= piece["rows"] <= piece["items"] or piece["meta_bytes"] < 0:
            raise DamagedProgress(f"{where} has impossible counts")
        if not (_HEX.fullmatch(piece["meta_blake2b"])
                and _HEX.fullmatch(piece["vectors_blake2b"])):
            raise DamagedProgress(f"{where} has a malformed hash")
        for skipped in piece["skipped"]:
            if not isinstance(skipped, dict):
                raise DamagedProgress(f"{where} lists a skipped input that is not an object")
            check_fields(skipped, SKIPPED_FIELDS, f"{where}'s skipped input")
    return body


def check_fields(data: dict, types: dict[str, Any], where: str) -> None:
    """Exactly these keys, each of its type (a bool is not a number here)."""
    if set(data) != set(types):
        missing = sorted(set(types) - set(data))
        raise DamagedProgress(f"{where} lacks {missing[0]!r}" if missing
                              else f"{where} has unknown fields")
    for key, kind in types.items():
        value = data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise DamagedProgress(f"{where} has a wrong {key!r}")


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=HASH_BYTES).hexdigest()


def file_digest(path: Path, offset: int = 0, length: int | None = None) -> str:
    """blake2b of `length` bytes from `offset` (all of the file by default), read in blocks."""
    running = hashlib.blake2b(digest_size=HASH_BYTES)
    with open(path, "rb") as fh:
        fh.seek(offset)
        left = length
        while left is None or left > 0:
            block = fh.read(READ_BLOCK if left is None else min(READ_BLOCK, left))
            if not block:
                break
            running.update(block)
            if left is not None:
                left -= len(block)
    return running.hexdigest()


def write_synced(path: Path, data: bytes, mode: str) -> None:
    with open(path, mode) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def concat_tables(tables: list[pa.Table]) -> pa.Table:
    """Windows' metadata in one table; a column typed differently in two windows becomes text."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        types: dict[str, set] = {}
        for table in tables:
            for f in table.schema:
                types.setdefault(f.name, set()).add(f.type)
        mixed = {name for name, kinds in types.items() if len(kinds - {pa.null()}) > 1}
        tables = [t.cast(pa.schema([pa.field(f.name, pa.string()) if f.name in mixed else f
                                    for f in t.schema])) for t in tables]
        return pa.concat_tables(tables, promote_options="permissive")
