"""An IVF-PQ index built on Ray: trained once here, row ranges added in parallel, merged in order.

The empty trained index is serialised and put in Ray's object store once. Each task adds one
row range (a shard of a sharded set, or a block: `add_ranges`, the same ranges the local build
adds) to its own copy and returns it serialised; the driver merges the parts in range order,
each part's ids shifted by the rows before it (`merge_from(part, ntotal)`), so the inverted
lists are the ones one sequential build makes and the searches answer the same.

A task's rows travel through the object store, read here by the set's own reader (an ndarray
or `ShardedVectors`): a remote worker then needs no access to the desktop's files, and Arrow
and Parquet shards have one reader. At most `workers` ranges wait in the store at once.
"""

from __future__ import annotations

import time

import numpy as np

from explorer.compute.cluster.ray_session import ray_session
from explorer.compute.index import (ApproxIndex, BuildReport, add_ranges, row_norms,
                                    rows_for_faiss)
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

RETRIES = 3  # a task whose worker died is run again this many times
CHECK_SECONDS = 0.25  # how often a cancel is looked for while tasks run


def add_rows(empty: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One task: a copy of the trained empty index with `rows` added, serialised."""
    import faiss

    faiss.omp_set_num_threads(1)  # the task holds one CPU
    index = faiss.deserialize_index(empty)
    index.add(rows)
    return faiss.serialize_index(index)


def build_ivfpq_ray(vectors, metric: str, norms: np.ndarray | None = None, *,
                    address: str | None = None, workers: int | None = None,
                    state: TaskState | None = None) -> ApproxIndex:
    """The IVF-PQ of `vectors` (an ndarray or sharded vectors), its rows added by Ray tasks.

    Progress moves per finished range; a cancel submits no more ranges and cancels the tasks
    still running. A task whose worker died is retried by Ray (RETRIES times)."""
    state = state or TaskState()
    norms = row_norms(vectors, state.sub(0, 0.05)) if norms is None else norms
    with ray_session(address, workers) as session:
        start = time.perf_counter()
        merged = ApproxIndex.trained(vectors, metric, "ivfpq", norms, state)
        train = time.perf_counter() - start
        merge = add_on_ray(merged, vectors, metric, norms, session.workers, state.sub(0.5, 1.0))
    index = ApproxIndex(vectors, metric, merged, "ivfpq", norms)
    index.report = BuildReport("ray", session.workers, len(add_ranges(vectors, "ivfpq")), train,
                               time.perf_counter() - start - train - merge, merge)
    return index


def add_on_ray(merged, vectors, metric: str, norms: np.ndarray, workers: int,
               state: TaskState | None = None) -> float:
    """Add every row range of `vectors` to `merged`, a trained empty IVF-PQ, by one Ray task
    per range (at most `workers` at once, inside a `ray_session`), merged in range order;
    the seconds spent merging."""
    import faiss
    import ray

    state = state or TaskState()
    ranges = add_ranges(vectors, "ivfpq")
    state.status(f"Adding {len(ranges)} row ranges on Ray ({workers} workers)")
    empty = ray.put(faiss.serialize_index(merged))
    task = ray.remote(num_cpus=1, max_retries=RETRIES)(add_rows)
    waiting = list(enumerate(ranges))[::-1]
    running: dict = {}  # ObjectRef -> range number
    parts: dict[int, object] = {}  # finished out of order: kept until their turn
    merge, turn = 0.0, 0  # turn: the range merged next
    try:
        while waiting or running:
            while waiting and len(running) < workers:
                i, (lo, hi) = waiting.pop()
                rows = rows_for_faiss(vectors, slice(lo, hi), metric, norms)
                running[task.remote(empty, rows)] = i
            ready, _ = ray.wait(list(running), num_returns=1, timeout=CHECK_SECONDS)
            state.check()  # a cancel is seen while a range is still being added
            if not ready:
                continue
            i = running.pop(ready[0])
            parts[i] = _result(ray, ready[0], ranges[i])
            started = time.perf_counter()
            while turn in parts:
                part = faiss.deserialize_index(parts.pop(turn))
                merged.merge_from(part, merged.ntotal)  # ids shifted by the rows before it
                turn += 1
            merge += time.perf_counter() - started
            state.progress(len(ranges) - len(waiting) - len(running), len(ranges))
    except BaseException:
        for ref in running:
            ray.cancel(ref, force=True)
        raise
    return merge


def _result(ray, ref, rows: tuple[int, int]):
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"adding rows {rows[0]:,}-{rows[1]:,} to the index failed on Ray "
                         f"{RETRIES + 1} times: {first}") from None


def ray_builder(address: str | None = None, workers: int | None = None):
    """A `neighbours.open_index` builder that adds the rows on Ray (IVF-PQ only)."""
    def build(vectors, metric: str, kind: str, norms: np.ndarray | None = None,
              state: TaskState | None = None) -> ApproxIndex:
        if kind != "ivfpq":
            raise InputError(f"the Ray engine builds IVF-PQ indexes, not {kind!r}: "
                             "use --kind ivfpq")
        return build_ivfpq_ray(vectors, metric, norms, address=address, workers=workers,
                               state=state)
    return build
