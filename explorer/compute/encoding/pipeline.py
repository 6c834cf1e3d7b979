"""Encode files into a library set: stream items through the model, resumable, bounded memory.

Items come from an `InputPlan` in a fixed order. A reader thread tokenises the
next window of items (sorted by length inside the window, so batches carry
little padding) while this thread runs the model on the current one; both the
tokenizer and onnxruntime release the GIL, so the two overlap on two cores.

Finished windows are appended to a work folder (`encode-jobs/<key>/`, see
work_folder.py), so after a crash or a cancel the same command resumes after the
last finished window, once it has checked that window's work is intact. The key
covers the inputs (paths, sizes, mtimes), the model's sha256 and the settings, so
a changed input starts afresh. A run holds the job's lock (`encode-jobs/<key>.lock`,
see job_lock.py) from before it opens the folder until it is removed, so a second
run of the same job waits instead of writing into the same folder. At the end the
rows are imported into the library (streamed from a memory map, never held twice)
and the work folder is removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer.compute.encoding.job_lock import job_lock
from explorer.compute.encoding.work_folder import WorkFolder
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError, writing_into
from explorer.core.jobs import TaskState
from explorer.core.library import Library, LibraryEntry
from explorer.core.paths import data_home

log = logging.getLogger(__name__)

JOBS_DIR = "encode-jobs"
WORK_FOLDER = "the encoding work folder"
# A window is this many batches: sorted by token count, written as one piece. Larger
# windows pad less (their lengths sort better) but resume from further back.
WINDOW_BATCHES = 32


@dataclass
class EncodeOptions:
    model: str  # a model folder or an installed model's name
    column: str | None = None
    pattern: str | None = None
    chunk_tokens: int = 200
    overlap_tokens: int = 30
    batch_size: int = 64
    name: str | None = None  # the set's name in the library (default: from the inputs)


@dataclass
class EncodeResult:
    entry: LibraryEntry
    count: int
    dim: int
    seconds: float
    items_per_second: float
    skipped: list = field(default_factory=list)  # Skipped records
    resumed_from: int = 0
    notices: list[str] = field(default_factory=list)  # what was found and done on the way

    def to_dict(self) -> dict:
        return {"set": self.entry.id, "count": self.count, "dim": self.dim,
                "seconds": self.seconds, "items_per_second": self.items_per_second,
                "skipped": [asdict(s) for s in self.skipped], "resumed_from": self.resumed_from,
                "notices": list(self.notices)}


def job_key(paths: list[Path], model_sha256: str, options: EncodeOptions) -> str:
    """What the work folder belongs to: the inputs as they are now, the model, the settings."""
    h = hashlib.sha256()
    for path in sorted(paths):
        st = path.stat()
        h.update(f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    settings = {k: v for k, v in asdict(options).items() if k not in ("model", "name")}
    h.update(json.dumps({"model": model_sha256, **settings}, sort_keys=True).encode())
    return h.hexdigest()[:24]


def meta_table(items: list) -> pa.Table:
    """One window's metadata: the text (if any) first, then every key any reader kept.

    Rows from different readers carry different keys (a missing one is null),
    and a key may hold numbers in one row and text in another (it becomes text).
    """
    keys: dict[str, None] = {}
    rows = []
    for item in items:
        row = {} if item.text is None else {"text": item.text}
        row.update(item.meta)
        keys.update(dict.fromkeys(row))
        rows.append(row)
    return pa.table({key: _column([row.get(key) for row in rows]) for key in keys})


def _column(values: list) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def encode_inputs(paths: list[str | Path], options: EncodeOptions, library: Library | None = None,
                  state: TaskState | None = None) -> EncodeResult:
    """Encode every item of `paths` with the model; the new set lands in the library."""
    from explorer.compute.encoding.model_folder import open_model
    from explorer.core.inputs import InputOptions, InputPlan

    state = state or TaskState()
    library = library or Library()
    start_time = time.perf_counter()
    folder = open_model(options.model)
    encoder = make_encoder(folder)
    plan = InputPlan([Path(p) for p in paths], InputOptions(
        modality=folder.config.modality, column=options.column, pattern=options.pattern,
        chunk_tokens=options.chunk_tokens, overlap_tokens=options.overlap_tokens,
        count_tokens=getattr(encoder, "count_tokens", None)))
    if not plan.files:
        raise InputError("nothing to encode: no files of a supported kind were found",
                         path=str(paths[0]) if paths else None)
    jobs = data_home() / JOBS_DIR
    key = job_key(plan.files, folder.sha256, options)
    notices: list[str] = []

    def tell(notice: str) -> None:
        notices.append(notice)
        log.warning("%s", notice)  # on stderr for the CLI; the GUI shows the status
        state.status(notice)

    library.check_writable()  # before the encoding, not after hours of it
    before_lock = time.perf_counter()
    with writing_into(jobs, WORK_FOLDER), job_lock(jobs / f"{key}.lock", f"{default_name(paths)} with {folder.name}", state,
                  on_wait=tell):
        start_time += time.perf_counter() - before_lock  # waiting is not this run's work
        work = WorkFolder(jobs / key, folder.dim)
        if work.notice:
            tell(work.notice)
        result = _encode_into(work, plan, encoder, folder, paths, options, library, state,
                              start_time)
        shutil.rmtree(work.root, ignore_errors=True)
    result.notices = notices
    return result


def _encode_into(work: WorkFolder, plan, encoder, folder, paths: list[str | Path],
                 options: EncodeOptions, library: Library, state: TaskState,
                 start_time: float) -> EncodeResult:
    """Encode what `work` does not hold yet, then import it all into the library."""
    from explorer.compute.encoding.set_model import model_label
    from explorer.core.inputs import Skipped
    from explorer.core.inputs.items import drop_uninformative

    modality = folder.config.modality
    resumed_from = work.items_done
    total = max(1, plan.estimate())
    state.status(f"Encoding with {folder.name}" + (f" (resuming after {resumed_from:,} items)"
                                                    if resumed_from else ""))
    window = options.batch_size * WINDOW_BATCHES
    encoded_now = 0
    for items, consumed, vectors, skipped in _windows(plan, encoder, modality, resumed_from,
                                                      window, options.batch_size, state):
        work.append(vectors, meta_table(items), consumed, skipped)
        encoded_now += consumed
        done = work.items_done
        elapsed = time.perf_counter() - start_time
        rate = encoded_now / elapsed if elapsed > 0 else 0.0
        state.progress(min(done, total - 1), total)
        state.status(f"Encoding with {folder.name}: {done:,} of about {total:,} items, "
                     f"{rate:,.0f}/s" + eta_text(max(0, total - done), rate))
    if work.rows == 0:
        raise InputError("nothing could be encoded: every input was skipped",
                         hint="; ".join(f"{s['path']}: {s['reason']}"
                                        for s in work.skipped()[:5]))
    state.status("Storing the set in the library")
    es = EmbeddingSet(
        vectors=work.vectors(), metadata=drop_uninformative(work.metadata()),
        name=options.name or default_name(paths), format="encoded",
        source=[str(p) for p in paths], metric="cosine",
        model=model_label(folder),
        text_column="text" if modality == "text" else None,
        notes=[provenance(folder, options, len(work.skipped()))])
    entry = library.import_set(es, state=state.sub(0.98, 1.0))
    seconds = time.perf_counter() - start_time
    return EncodeResult(entry, entry.count, folder.dim, seconds,
                        encoded_now / seconds if seconds > 0 else 0.0,
                        [Skipped(**s) for s in work.skipped()], resumed_from)


def make_encoder(folder, threads: int | None = None):
    """The folder's text or image encoder (`threads`: onnxruntime's, default every core)."""
    if folder.config.modality == "image":
        from explorer.compute.encoding.image_encoder import ImageEncoder

        return ImageEncoder(folder, threads=threads)
    from explorer.compute.encoding.text_encoder import TextEncoder

    return TextEncoder(folder, threads=threads)


_END = object()


def _windows(plan, encoder, modality: str, start: int, window: int, batch_size: int,
             state: TaskState):
    """Yield (kept items, items consumed, vectors, skipped) per window, in input order.

    A reader thread prepares the next window (reading, chunking, tokenising)
    while the caller's thread runs the model on this one.
    """
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                ready.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            items_iter = plan.items(start=start, state=state)
            while not stop.is_set():
                before = len(plan.skipped)
                items = []
                for item in items_iter:
                    items.append(item)
                    if len(items) == window:
                        break
                skipped = list(plan.skipped[before:])
                if not items:
                    put((None, skipped))
                    put(_END)
                    return
                if not put((prepare(items, encoder, modality, batch_size), skipped)):
                    return
        except BaseException as exc:  # delivered to the consuming thread, which raises it
            put(exc)

    reader = threading.Thread(target=read, name="encode-reader", daemon=True)
    reader.start()
    try:
        while True:
            got = ready.get()
            if got is _END:
                return
            if isinstance(got, BaseException):
                raise got
            prepared, skipped = got
            if prepared is None:
                if skipped:  # files skipped after the last item
                    yield [], 0, np.zeros((0, encoder.dim), np.float32), skipped
                continue
            state.check()
            items, vectors, failed = run_prepared(prepared, encoder, modality, state)
            kept = [it for i, it in enumerate(items) if i not in failed]
            keep = np.array([i not in failed for i in range(len(items))], dtype=bool)
            yield kept, len(items), vectors[keep], skipped + list(failed.values())
    finally:
        stop.set()
        reader.join(timeout=5)


def prepare(items: list, encoder, modality: str, batch_size: int):
    """Batches of similar token count (text: tokenised here, in the reader thread)."""
    if modality == "image":
        order = np.arange(len(items))
        return items, [(idx, None) for idx in _split(order, batch_size)]
    batches = encoder.batches([it.text for it in items], batch_size)
    return items, [(batch.rows, batch) for batch in batches]


def _split(order: np.ndarray, size: int) -> list[np.ndarray]:
    return [order[i:i + size] for i in range(0, len(order), size)]


def run_prepared(prepared, encoder, modality: str, state: TaskState):
    """(items, vectors in item order, {index: Skipped} of items the model could not take).

    A batch that fails because of some of its items (an image that does not
    decode, a text the model turns into NaN) is run again one item at a time,
    so only those items are skipped; an error about the model itself stops the job.
    """
    items, batches = prepared
    out = np.zeros((len(items), encoder.dim), dtype=np.float32)
    failed: dict[int, object] = {}
    for idx, batch in batches:
        state.check()
        try:
            out[idx] = (encoder.encode([items[i].image for i in idx]) if modality == "image"
                        else encoder.run(batch))
        except InputError as err:
            if modality != "image" and err.row is None:
                raise
            for i in idx:
                try:
                    out[i] = _encode_one(encoder, items[i], modality)
                except InputError as one:
                    if modality != "image" and one.row is None:
                        raise
                    failed[int(i)] = _skipped(items[i], one)
    return items, out, failed


def _encode_one(encoder, item, modality: str) -> np.ndarray:
    return encoder.encode([item.image if modality == "image" else item.text])[0]


def _skipped(item, err: InputError):
    """What to tell the user about an item the model could not take."""
    from explorer.core.inputs import Skipped

    if item.image is not None:
        return Skipped(str(item.image), str(err))
    meta = item.meta
    where = meta.get("source") or meta.get("path") or "input"
    reason = err.message + (f" (characters {meta['char_start']}-{meta['char_end']})"
                            if "char_start" in meta else "")
    return Skipped(str(where), reason, row=meta.get("row"))


def eta_text(remaining: int, rate: float) -> str:
    """", about 3 min left" (empty until there is a rate to go by)."""
    if rate <= 0 or remaining <= 0:
        return ""
    seconds = remaining / rate
    if seconds < 90:
        return f", about {max(1, round(seconds))} s left"
    if seconds < 90 * 60:
        return f", about {round(seconds / 60)} min left"
    return f", about {seconds / 3600:.1f} h left"


def default_name(paths: list[str | Path]) -> str:
    first = Path(paths[0])
    name = first.stem if first.is_file() else first.name
    return name + (f" + {len(paths) - 1} more" if len(paths) > 1 else "")


def provenance(folder, options: EncodeOptions, skipped: int, engine: str | None = None) -> str:
    """The note a set encoded here carries: the model, its settings, and (Ray) the engine."""
    c = folder.config
    text = (f"Encoded with {folder.name} ({_relative(folder, folder.model_file)} sha256 "
            f"{folder.sha256}), {c.modality}, pooling {c.pooling}, normalised {c.normalise}")
    if c.modality == "text":
        text += (f", at most {c.max_tokens} tokens; text files cut into chunks of "
                 f"{options.chunk_tokens} tokens overlapping by {options.overlap_tokens}")
    else:
        text += (f", {c.image_size}-pixel {c.crop} crop"
                 + (f" of the shortest side at {c.image_resize}" if c.image_resize else "")
                 + f", {c.resample}, mean {list(c.image_mean)}, std {list(c.image_std)}")
    if folder.text_tower is not None:  # which text model typed queries on this set must use
        tower = folder.text_tower
        text += (f"; text tower {_relative(folder, tower.model_file)} sha256 {tower.sha256} "
                 f"(output {tower.output})")
    if engine:
        text += f"; engine: {engine}"
    if skipped:
        text += f". {skipped} inputs were skipped (see the encode report)"
    return text + "."


def _relative(folder, path: Path) -> str:
    return path.relative_to(folder.path).as_posix()
