"""The work units of an encoding on Ray: pieces of the local engine's plan, in its order.

Shards written per unit and joined in unit order give the rows the local engine gives,
because a unit reads its inputs with the plan's own reader (`read_input`). A table is cut
into ranges of its items: a unit passes over the items before its range the way a resumed
local run does (whole Parquet row groups without building items) and stops after `take`
items without reading further, so every skipped row is reported by one unit. Other files
are grouped in turn: text and PDF files until about `rows_per_unit` chunks, images
`images_per_unit` files, so a folder of small files does not become thousands of tiny
Ray tasks.

Inputs may be object-store URIs that pyarrow.fs understands (s3://, gs://, hdfs://...):
they are copied into a local staging folder first, so the readers keep taking Paths.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from explorer.core.errors import InputError
from explorer.core.inputs import InputOptions, InputPlan, Item
from explorer.core.inputs.items import Report, Resume
from explorer.core.inputs.plan import PlannedInput, read_input

# A unit holds at most a local window (64 x 32 items), which it sorts and batches as the
# local engine does, and at least enough that Ray's per-task cost stays small; a small job is
# still cut into about UNITS_WANTED units, so every worker gets some.
ROWS_PER_UNIT = 2048
MIN_ROWS_PER_UNIT = 256
UNITS_WANTED = 32
IMAGES_PER_UNIT = 64
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


@dataclass(frozen=True)
class Unit:
    """Inputs one worker reads and encodes into one shard; `key` names what it covers."""

    index: int
    inputs: tuple[PlannedInput, ...]
    skip: int = 0  # a table: items passed over first
    take: int | None = None  # a table: items read (None: to the end)
    items: int = 0  # about how many items it gives (for progress)
    key: str = ""


def unit_size(total: int) -> int:
    """Items per unit for a job of about `total` items (from the inputs alone, so a rerun of
    the same job cuts the same units and resumes)."""
    return max(MIN_ROWS_PER_UNIT, min(ROWS_PER_UNIT, -(-total // UNITS_WANTED)))


def plan_units(plan: InputPlan, rows_per_unit: int = ROWS_PER_UNIT,
               images_per_unit: int = IMAGES_PER_UNIT,
               counts: list[int] | None = None) -> list[Unit]:
    """The plan's inputs as units, in the plan's order (`counts`: each input's estimate)."""
    if rows_per_unit < 1 or images_per_unit < 1:
        raise InputError("a unit must hold at least one item")
    pieces: list[tuple[tuple[PlannedInput, ...], int, int | None, int]] = []
    group: list[PlannedInput] = []
    grouped = 0

    def close() -> None:
        nonlocal group, grouped
        if group:
            pieces.append((tuple(group), 0, None, grouped))
        group, grouped = [], 0

    counts = counts if counts is not None else [plan.estimate_input(i) for i in plan.inputs]
    for inp, count in zip(plan.inputs, counts):
        if inp.kind == "table":
            close()
            starts = list(range(0, count, rows_per_unit)) or [0]
            for i, skip in enumerate(starts):
                last = i == len(starts) - 1  # reads to the end: an estimate may fall short
                pieces.append(((inp,), skip, None if last else rows_per_unit,
                               (count - skip) if last else rows_per_unit))
            continue
        limit = images_per_unit if inp.kind == "image" else rows_per_unit
        if group and grouped + count > limit:
            close()
        group.append(inp)
        grouped += count
    close()
    return [Unit(i, inputs, skip, take, max(0, items), _key(inputs, skip, take))
            for i, (inputs, skip, take, items) in enumerate(pieces)]


def read_unit(unit: Unit, options: InputOptions, report: Report) -> Iterator[Item]:
    """The unit's items in plan order; what cannot be read goes to `report`."""
    if unit.skip or unit.take is not None:
        yield from _read_range(unit, options, report)
        return
    for inp in unit.inputs:
        yield from read_input(inp, options, report)


def _read_range(unit: Unit, options: InputOptions, report: Report) -> Iterator[Item]:
    """A table's items `skip` to `skip + take`, and what is skipped after item `skip - 1`.

    The reader passes over the first `skip - 1` items (whole row groups where it can) and
    builds item `skip - 1`, the earlier unit's last: reports start after it, so the rows
    between two units are reported by the later one, and only once. A unit past the end
    never meets that item and reports nothing."""
    anchored = unit.skip == 0

    def after_anchor(skipped) -> None:
        if anchored:
            report(skipped)

    items = read_input(unit.inputs[0], options, after_anchor, Resume(max(0, unit.skip - 1)))
    if not anchored:
        if next(items, None) is None:
            return
        anchored = True
    yield from items if unit.take is None else itertools.islice(items, unit.take)


def unique(skipped: list[dict]) -> list[dict]:
    """Skipped inputs once each, in order: a file-level error, or a CSV row reported when its
    block is parsed, can be seen by two units of one table."""
    seen: set[str] = set()
    out = []
    for record in skipped:
        key = json.dumps(record, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out


def _key(inputs: tuple[PlannedInput, ...], skip: int, take: int | None) -> str:
    """Which files as they are now (size, mtime) and which part of them."""
    h = hashlib.sha256()
    for inp in inputs:
        try:
            st = inp.path.stat()
            stamp = f"{st.st_size}\0{st.st_mtime_ns}"
        except OSError:
            stamp = "unreadable"
        h.update(f"{inp.path}\0{inp.source}\0{inp.kind}\0{inp.column}\0{stamp}\0".encode())
    h.update(f"{skip}\0{take}".encode())
    return h.hexdigest()[:24]


def is_uri(value: str | Path) -> bool:
    return isinstance(value, str) and bool(_URI.match(value))


def local_inputs(paths: list[str | Path], staging: Path) -> list[Path]:
    """Paths for the readers: local paths as given, file:// URIs as paths, other URIs copied
    into `staging` (keeping the remote modification times, so an unchanged input resumes)."""
    out = []
    for i, value in enumerate(paths):
        if not is_uri(value):
            out.append(Path(value))
            continue
        out.append(_fetch(str(value), staging / str(i)))
    return out


def _fetch(uri: str, target: Path) -> Path:
    import pyarrow as pa
    import pyarrow.fs as pafs

    try:
        fs, path = pafs.FileSystem.from_uri(uri)
        if isinstance(fs, pafs.LocalFileSystem):
            return Path(path)
        return copy_remote(fs, path, target, uri)
    except InputError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {uri} ({exc})", path=uri,
                         hint="object stores need their credentials in the environment, "
                              "as pyarrow.fs reads them") from None


def copy_remote(fs, path: str, target: Path, uri: str) -> Path:
    """A file or folder of `fs` copied into `target`, with the remote modification times."""
    import pyarrow.fs as pafs

    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise InputError("no such file or folder", path=uri)
    local = target / (Path(path.rstrip("/")).name or "input")
    local.parent.mkdir(parents=True, exist_ok=True)
    pafs.copy_files(path, str(local), source_filesystem=fs,
                    destination_filesystem=pafs.LocalFileSystem())
    remote = [info] if info.type == pafs.FileType.File else fs.get_file_info(
        pafs.FileSelector(path, recursive=True))
    for entry in remote:
        copied = local if entry.path == path else local / os.path.relpath(entry.path, path)
        if entry.type == pafs.FileType.File and entry.mtime_ns and copied.is_file():
            os.utime(copied, ns=(entry.mtime_ns, entry.mtime_ns))
    return local
