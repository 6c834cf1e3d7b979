"""Encode files into a library set on Ray: the local engine's steps, one work unit per task.

The plan, the units (units.py) and the model checks are made here, on the driver; Ray Data
runs `UnitEncoder` in an actor pool (the model opened once per actor), and each actor reads
its unit with the plan's readers, runs the local pipeline's `prepare`/`run_prepared`
(batches of similar token count, per-item skips) and writes the unit's rows and metadata as
one Parquet shard through a `.partial` file and a rename. The driver reads one small record
per finished unit: progress, ETA and Cancel go through the job's TaskState, and
each record is journaled (journal.py) so a cancelled or failed job resumes from its finished
shards. Ray restarts an actor that dies and runs its unit again. At the end the shards, in
unit order, become an ordinary library set with the local engine's provenance note.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.compute.cluster.journal import ShardJournal, shard_name
from explorer.compute.cluster import ray_session as sessions  # looked up per call
from explorer.compute.cluster.units import (
    Unit,
    local_inputs,
    plan_units,
    read_unit,
    unique,
    unit_size,
)
from explorer.compute.encoding.job_lock import job_lock
from explorer.compute.encoding.pipeline import (
    JOBS_DIR,
    WORK_FOLDER,
    EncodeOptions,
    EncodeResult,
    default_name,
    encode_inputs,
    eta_text,
    job_key,
    make_encoder,
    meta_table,
    prepare,
    provenance,
    run_prepared,
)
from explorer.compute.encoding.work_folder import (
    concat_tables,
    file_digest,
    write_synced,
)
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError, writing_into
from explorer.core.jobs import TaskState
from explorer.core.library import Library, LibraryEntry, write_fields
from explorer.core.paths import data_home

log = logging.getLogger(__name__)

ENGINE = "ray"
VECTOR_COLUMN = "vector"
VECTORS_FILE = "vectors.f32"
POLL_SECONDS = 0.2  # how often the driver looks for a Cancel while units run
_END = object()
RECORD_COLUMNS = ("unit", "key", "file", "items", "rows", "bytes", "blake2b", "skipped", "error")


@dataclass
class RayEncodeResult(EncodeResult):
    """The local engine's result, plus where and in how many pieces the work ran."""

    engine: str = ENGINE
    workers: int = 0
    units: int = 0
    resumed_units: int = 0
    ray_address: str = "local"

    def to_dict(self) -> dict:
        return {**super().to_dict(), "engine": self.engine, "workers": self.workers,
                "units": self.units, "resumed_units": self.resumed_units,
                "ray_address": self.ray_address}


@dataclass(frozen=True)
class Engine:
    """Where an encoding runs: "local" (this process) or "ray"; `address` for Ray: None for
    RAY_ADDRESS or else a local Ray, "local" for a local Ray, "auto" or "ray://host:port"."""

    name: str = "local"
    address: str | None = None
    workers: int | None = None
    shards_out: str | None = None  # Ray: keep the shards in this folder as a sharded set


def encode_with(engine: Engine, paths: list[str | Path], options: EncodeOptions,
                library: Library | None = None, state: TaskState | None = None) -> EncodeResult:
    """Run an encoding on the chosen engine (the CLI and the app both come here)."""
    if engine.name == ENGINE:
        return encode_inputs_ray(paths, options, library, state, address=engine.address,
                                 shards_out=engine.shards_out,
                                 workers=engine.workers)
    if engine.name != "local":
        raise InputError(f"engine must be local or ray, not {engine.name!r}")
    return encode_inputs(paths, options, library, state)


class UnitEncoder:
    """Ray Data's callable class: one per actor, so the model is opened once per actor.

    Each call gets unit indices and returns one record per unit; the unit's shard is on disk
    (renamed into place) before its record leaves the actor.
    """

    def __init__(self, model_path: str, model_sha256: str, units: list[Unit],
                 options: EncodeOptions, input_options, work: str, threads: int = 1) -> None:
        self.error: InputError | None = None
        self.units = units
        try:
            self._open(model_path, model_sha256, options, input_options, work, threads)
        except InputError as err:  # said with the first unit: a failed actor would be restarted
            self.error = err

    def _open(self, model_path: str, model_sha256: str, options: EncodeOptions, input_options,
              work: str, threads: int) -> None:
        from explorer.compute.encoding.model_folder import open_model

        folder = open_model(model_path)
        if folder.sha256 != model_sha256:  # another node with another copy of the model
            raise InputError(f"the model on this worker has sha256 {folder.sha256}, the job's "
                             f"has {model_sha256}", path=model_path)
        self.encoder = make_encoder(folder, threads)
        self.modality = folder.config.modality
        self.batch_size = options.batch_size
        self.input_options = dataclasses.replace(
            input_options, count_tokens=getattr(self.encoder, "count_tokens", None))
        self.work = Path(work)

    def __call__(self, batch: dict) -> dict:
        """One record per unit. An InputError (the model cannot run) travels in the record,
        as Ray passes only the text of an exception raised here."""
        records: dict[str, list] = {k: [] for k in RECORD_COLUMNS}
        for index in batch["unit"]:
            try:
                if self.error is not None:
                    raise self.error
                record = {**self.encode_unit(self.units[int(index)]), "error": ""}
            except InputError as err:
                record = {**dict.fromkeys(RECORD_COLUMNS, 0), "key": "", "file": "",
                          "blake2b": "", "skipped": "[]", "unit": int(index),
                          "error": json.dumps(_error_fields(err))}
            for key in RECORD_COLUMNS:
                records[key].append(record[key])
        return records

    def encode_unit(self, unit: Unit) -> dict:
        skipped: list = []
        items = list(read_unit(unit, self.input_options, skipped.append))
        prepared = prepare(items, self.encoder, self.modality, self.batch_size)
        items, vectors, failed = run_prepared(prepared, self.encoder, self.modality, TaskState())
        keep = np.array([i not in failed for i in range(len(items))], dtype=bool)
        kept = [it for i, it in enumerate(items) if i not in failed]
        skipped += list(failed.values())
        path = self.work / shard_name(unit.index)
        write_shard(path, vectors[keep], meta_table(kept))
        return {"unit": unit.index, "key": unit.key, "file": path.name, "items": len(items),
                "rows": int(keep.sum()), "bytes": path.stat().st_size,
                "blake2b": file_digest(path),
                "skipped": json.dumps([asdict(s) for s in skipped])}


def write_shard(path: Path, vectors: np.ndarray, meta: pa.Table) -> None:
    """A `vector` column of fixed_size_list<float32>[dim], then the metadata, renamed into place.

    A metadata column of the user's named `vector` becomes `vector_meta`, as readers do
    with the names items already use."""
    dim = vectors.shape[1]
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel(), type=pa.float32())
    column = pa.FixedSizeListArray.from_arrays(flat, dim)
    if VECTOR_COLUMN in meta.column_names:
        meta = meta.rename_columns([f"{VECTOR_COLUMN}_meta" if c == VECTOR_COLUMN else c
                                    for c in meta.column_names])
    table = meta.add_column(0, VECTOR_COLUMN, column) if meta.num_columns else \
        pa.table({VECTOR_COLUMN: column})
    write_shard_table(path, table)


def write_shard_table(path: Path, table: pa.Table) -> None:
    """`table` at `path` through a `.partial` file and a rename: never a half-written shard."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        pq.write_table(table, partial, compression="none")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def encode_inputs_ray(paths: list[str | Path], options: EncodeOptions,
                      library: Library | None = None, state: TaskState | None = None, *,
                      address: str | None = None, workers: int | None = None,
                      rows_per_unit: int | None = None, shards_out: str | Path | None = None
                      ) -> RayEncodeResult:
    """Encode every item of `paths` on Ray (a local one, or the cluster at `address`).

    `rows_per_unit`: items per work unit (default: from the job's size, see units.py).
    `shards_out`: a new or empty folder where the finished Parquet shards stay, registered
    as a sharded set (nothing copied into the library); None: one vectors.npy as locally."""
    from explorer.compute.encoding.model_folder import open_model
    from explorer.core.inputs import InputOptions, InputPlan

    reason = sessions.ray_available()
    if reason:
        raise InputError(reason)
    out = None if shards_out is None else check_shards_out(shards_out)
    state = state or TaskState()
    library = library or Library()
    start_time = time.perf_counter()
    folder = open_model(options.model)
    jobs = data_home() / JOBS_DIR
    notices: list[str] = []

    def tell(notice: str) -> None:
        notices.append(notice)
        log.warning("%s", notice)
        state.status(notice)

    library.check_writable()
    with writing_into(jobs, WORK_FOLDER):
        staging = jobs / ("inputs-" + hashlib.sha256(repr(paths).encode()).hexdigest()[:16])
        local = local_inputs(paths, staging)
        counter = make_encoder(folder, threads=1)  # the model's token count, for chunking
        plan = InputPlan(local, InputOptions(
            modality=folder.config.modality, column=options.column, pattern=options.pattern,
            chunk_tokens=options.chunk_tokens, overlap_tokens=options.overlap_tokens,
            count_tokens=getattr(counter, "count_tokens", None)))
        del counter
        counts = [plan.estimate_input(inp) for inp in plan.inputs]
        rows_per_unit = rows_per_unit or unit_size(sum(counts))
        units = plan_units(plan, rows_per_unit, counts=counts)
        key = ray_job_key(plan.files, folder.sha256, options, rows_per_unit)
        before_lock = time.perf_counter()
        with job_lock(jobs / f"{key}.lock", f"{default_name(paths)} with {folder.name} on Ray",
                      state, on_wait=tell):
            start_time += time.perf_counter() - before_lock
            journal = ShardJournal(jobs / key, folder.dim, units)
            for notice in journal.notices:
                tell(notice)
            resumed = journal.done()
            resumed_items = sum(journal.records[i]["items"] for i in resumed)
            todo = [u for u in units if u.index not in resumed]
            spec = {"model_path": str(folder.path), "model_sha256": folder.sha256,
                    "units": units, "options": options,
                    "input_options": dataclasses.replace(plan.options, count_tokens=None),
                    "work": str(journal.root)}
            with sessions.ray_session(address, workers) as session:
                encoded = run_units(todo, spec, journal, state, session.workers,
                                    total=sum(u.items for u in units), label=folder.name,
                                    start_time=start_time)
            skipped = unique([asdict(s) for s in plan.planned_skips] + journal.skipped())
            fields = {"name": options.name or default_name(paths), "format": "encoded",
                      "source": [str(p) for p in paths], "metric": "cosine",
                      "model": _model_label(folder),
                      "text_column": "text" if folder.config.modality == "text" else None,
                      "notes": [provenance(folder, options, len(skipped),
                                           engine=f"Ray, {session.workers} workers")]}
            if out is None:
                entry = store_single(journal, units, folder.dim, fields, library, state, skipped)
            else:
                entry = store_sharded(journal, units, out, fields, library, state, skipped)
            shutil.rmtree(journal.root, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    from explorer.core.inputs import Skipped

    seconds = time.perf_counter() - start_time
    return RayEncodeResult(
        entry, entry.count, folder.dim, seconds, encoded / seconds if seconds > 0 else 0.0,
        [Skipped(**s) for s in skipped],
        resumed_items, notices,
        workers=session.workers, units=len(units), resumed_units=len(resumed),
        ray_address=session.address or "local")


def ray_job_key(files: list[Path], model_sha256: str, options: EncodeOptions,
                rows_per_unit: int) -> str:
    """The local job's key, for this engine and unit size: never a local job's folder."""
    base = job_key(files, model_sha256, options)
    return "ray-" + hashlib.sha256(f"{base}\0{ENGINE}\0{rows_per_unit}".encode()).hexdigest()[:20]


def run_units(todo: list[Unit], spec: dict, journal: ShardJournal, state: TaskState,
              workers: int, *, total: int, label: str, start_time: float) -> int:
    """Encode `todo` on Ray, journaling each finished unit; the items encoded now."""
    import ray.data

    done_items = sum(r["items"] for r in journal.records.values())
    if not todo:
        return 0
    state.status(f"Encoding with {label} on Ray ({workers} workers)"
                 + (f", resuming after {len(journal.records):,} finished units"
                    if journal.records else ""))
    dataset = ray.data.from_items([{"unit": u.index} for u in todo],
                                  override_num_blocks=len(todo))
    # UnitEncoder is looked up here, at call time, so a test can hand in a subclass. One unit
    # in flight per actor: none waits behind another's long unit while an actor is free.
    out = dataset.map_batches(UnitEncoder, batch_size=1, num_cpus=1,
                              compute=ray.data.ActorPoolStrategy(
                                  size=min(workers, len(todo)), max_tasks_in_flight_per_actor=1),
                              fn_constructor_kwargs=spec)
    encoded = 0
    total = max(total, 1)
    with contextlib.closing(_records(out, state)) as records:
        for record in records:
            if record["error"]:
                raise InputError(**json.loads(record["error"]))
            record = {k: v for k, v in record.items() if k != "error"}
            record["skipped"] = json.loads(record["skipped"])
            journal.add(record)
            encoded += record["items"]
            done_items += record["items"]
            elapsed = time.perf_counter() - start_time
            rate = encoded / elapsed if elapsed > 0 else 0.0
            state.progress(min(done_items, total - 1), total)
            state.status(f"Encoding with {label} on Ray ({workers} workers): {done_items:,} of "
                         f"about {total:,} items, {rate:,.0f}/s"
                         + eta_text(max(0, total - done_items), rate))
    return encoded


def _records(out, state: TaskState) -> Iterator[dict]:
    """The dataset's records as units finish, with `state.check()` every POLL_SECONDS.

    A thread reads the records (the read blocks until a unit finishes), so a Cancel is noticed
    at once, not when the running units end; the thread then stops reading at the next
    record and closes the iterator, which stops the executor and frees the actors' CPUs.
    Blocks are read without prefetching: `iter_rows()` holds each record back until the
    next unit is done too, which would make progress and Cancel one unit late."""
    ready: queue.Queue = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        rows = iter(out.iter_batches(batch_size=None, batch_format="pyarrow",
                                     prefetch_batches=0))
        try:
            for block in rows:
                if stop.is_set():
                    break
                for record in block.to_pylist():
                    ready.put(record)
            ready.put(_END)
        except BaseException as exc:  # noqa: BLE001 - raised in the driver's thread
            ready.put(exc)
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="ray-encode-records", daemon=True)
    reader.start()
    try:
        while True:
            try:
                got = ready.get(timeout=POLL_SECONDS)
            except queue.Empty:
                state.check()
                continue
            state.check()
            if got is _END:
                return
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()


def store_single(journal: ShardJournal, units: list[Unit], dim: int, fields: dict,
                 library: Library, state: TaskState, skipped: list[dict]) -> LibraryEntry:
    """The shards, in unit order, as one set (vectors.npy), the way the local engine stores."""
    from explorer.core.inputs.items import drop_uninformative

    rows = sum(journal.records[u.index]["rows"] for u in units)
    check_encoded(rows, skipped)
    state.status("Storing the set in the library")
    vectors_path = journal.root / VECTORS_FILE
    vectors_path.unlink(missing_ok=True)
    metas = []
    for unit in units:
        table = pq.read_table(journal.shard(unit.index))
        flat = table.column(VECTOR_COLUMN).combine_chunks().flatten()
        block = flat.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        write_synced(vectors_path, block.tobytes(), "ab")
        metas.append(table.drop_columns([VECTOR_COLUMN]))
    vectors = np.memmap(vectors_path, dtype=np.float32, mode="r", shape=(rows, dim))
    es = EmbeddingSet(vectors=vectors, metadata=drop_uninformative(concat_tables(metas)),
                      **fields)
    return library.import_set(es, state=state.sub(0.98, 1.0))


def check_encoded(rows: int, skipped: list[dict]) -> None:
    if rows == 0:
        raise InputError("nothing could be encoded: every input was skipped",
                         hint="; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:5]))


def check_shards_out(folder: str | Path) -> Path:
    """The folder the shards will stay in: new or empty, so no file of the user's is mixed
    into the set or overwritten (checked before any work)."""
    out = Path(folder).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise InputError("is a file, not a folder for the shards", path=str(out))
    if out.is_dir() and any(out.iterdir()):
        raise InputError("the folder for the shards must be new or empty", path=str(out),
                         hint="give a new folder: the set will be every shard in it")
    return out


def store_sharded(journal: ShardJournal, units: list[Unit], out: Path, fields: dict,
                  library: Library, state: TaskState, skipped: list[dict]) -> LibraryEntry:
    """The shards, in unit order, moved into `out` and registered there as a sharded set.

    What a cluster job leaves on shared storage: the desktop keeps the manifest, metadata
    and norms, never a copy of the vectors. Units read from different kinds of input carry
    different metadata columns; their shards are rewritten to one schema (absent: null)."""
    from explorer.core.shard_import import import_shards

    kept = [u for u in units if journal.records[u.index]["rows"] > 0]
    check_encoded(sum(journal.records[u.index]["rows"] for u in kept), skipped)
    state.status("Storing the shards")
    check_shards_out(out)
    out.mkdir(parents=True, exist_ok=True)
    schemas = [pq.read_schema(journal.shard(u.index)) for u in kept]
    common = pa.unify_schemas(schemas, promote_options="permissive")
    for unit, schema in zip(kept, schemas):
        source, target = journal.shard(unit.index), out / shard_name(unit.index)
        if schema.equals(common):
            shutil.move(source, target)
        else:
            table = pq.read_table(source)
            table = pa.concat_tables([table, common.empty_table()], promote_options="permissive")
            write_shard_table(target, table.select(common.names))
    entry = import_shards(library, [out], layout="sharded", name=fields["name"], new=True,
                          state=state.sub(0.9, 1.0))
    library.set_model(entry.id, fields["model"], None)
    # the provenance note; source and format stay the shards' (re-import and checks read them)
    write_fields(Path(entry.path), notes=list(entry.notes) + fields["notes"])
    return library.entry(entry.id)


def _model_label(folder) -> str:
    from explorer.compute.encoding.set_model import model_label

    return model_label(folder)


def _error_fields(err: InputError) -> dict:
    return {"message": err.message, "path": err.path, "row": err.row, "line": err.line,
            "column": err.column, "hint": err.hint}
