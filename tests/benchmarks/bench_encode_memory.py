"""Benchmark: peak memory of a large encode job through encode_inputs (issue 5: "never holds all
outputs of a 1M-item job in RAM twice").

Not a pytest test. Run directly:

    .venv/bin/python tests/benchmarks/bench_encode_memory.py --n 50000      # quick check
    .venv/bin/python tests/benchmarks/bench_encode_memory.py                # 1,000,000 items

The point is the pipeline's memory bound, not model speed, so the model is a tiny real
ONNX model from tests/compute/onnx_models.py (`bert_like(dim=384)`: token embeddings plus
a masked mean, output last_hidden_state [batch, tokens, 384], mean-pooled and normalised
by our code), so the output volume is that of a real 384-d model: n x 384 float32 =
1.54 GB at 1M. The input is one Parquet (or CSV) file with an `id` and a `text` column of
n seeded short sentences (5-40 words, the generator of bench_encode.py; words the tiny
vocabulary lacks become [UNK]), written in chunks of 100k rows.

The job runs in a fresh child process (`--child`), which first imports everything and
opens the model (explorer's open_model + a TextEncoder, i.e. an onnxruntime session) and
records that as the baseline, then runs encode_inputs([file], EncodeOptions(...)) into a
library in a temporary EXPLORER_HOME. It prints a JSON line at every phase (baseline,
encoding started, each step of the library import: the finished rows read back, check_set,
the vectors written, end) with its /proc/self/status figures (VmRSS, RssAnon = heap and
other private memory, RssFile = file pages mapped in, e.g. a memory map that has been
read, VmHWM = the peak so far). The parent samples /proc/<child>/status every 50 ms and
keeps the peak of each figure per phase (a phase shorter than the sampling period may
show no row; the child's own lines, printed as they come, still cover it). Reported: peak RSS (VmHWM), the baseline,
output bytes, (peak - baseline) / output bytes -- well under 1.0 if the outputs are never
all in RAM at once, and then far from "twice" -- and the same for anonymous memory alone
(RssFile pages are clean page-cache pages the kernel can drop under pressure, but they
do count in RSS), the wall time and items/s. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DIM = 384
MiB = 1 << 20
GEN_CHUNK = 100_000
FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """Memory figures of a process from /proc/<pid>/status, in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in FIELDS:
                out[key] = int(rest.split()[0]) * 1024
    return out


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- child: input and model


def generate(path: Path, n: int, seed: int, fmt: str) -> None:
    """n rows of (id, text) in chunks, so the generator never holds them all."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    sys.path.insert(0, str(HERE))
    from bench_encode import make_texts

    schema = pa.schema([("id", pa.int64()), ("text", pa.string())])
    writer = pq.ParquetWriter(path, schema) if fmt == "parquet" else None
    csv = None if fmt == "parquet" else pacsv.CSVWriter(path, schema)
    for b, lo in enumerate(range(0, n, GEN_CHUNK)):
        hi = min(n, lo + GEN_CHUNK)
        texts = make_texts(hi - lo, seed * 100_003 + b)
        table = pa.table({"id": pa.array(np.arange(lo, hi)), "text": pa.array(texts)},
                         schema=schema)
        (writer or csv).write_table(table)
        log(f"  input: {hi:,}/{n:,} rows")
    (writer or csv).close()


def write_model(folder: Path) -> None:
    sys.path.insert(0, str(REPO / "tests" / "compute"))
    from onnx_models import bert_like, write_folder

    write_folder(folder, bert_like(dim=DIM))


# ---------------------------------------------------------------- child: the job


def child(args) -> None:
    t_start = time.time()

    def mark(event: str, **extra) -> None:
        print(json.dumps({"event": event, "t": time.time(), **proc_status(), **extra}),
              flush=True)

    import gc

    import numpy as np  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import explorer.core.library as library_mod
    from explorer.compute.encoding import pipeline
    from explorer.compute.encoding.model_folder import open_model
    from explorer.compute.encoding.text_encoder import TextEncoder
    from explorer.core.jobs import TaskState
    from explorer.core.library import Library

    encoder = TextEncoder(open_model(args.model))
    encoder.encode(["the cat sat on the mat"])
    del encoder
    gc.collect()
    mark("baseline", setup_s=time.time() - t_start)

    # Phase markers around the steps of the import (wrappers in this process only).
    def wrap(owner, name, label, static=False):
        original = getattr(owner, name)

        def wrapped(*a, **k):
            mark(label + " start")
            try:
                return original(*a, **k)
            finally:
                mark(label + " end")

        setattr(owner, name, staticmethod(wrapped) if static else wrapped)

    wrap(pipeline.WorkFolder, "metadata", "import: read the windows' metadata")
    wrap(library_mod, "check_set", "import: check_set (scan vectors)")
    wrap(library_mod.Library, "_write_vectors", "import: write vectors.npy", static=True)
    wrap(library_mod, "write_metadata", "import: write metadata.parquet")

    seen = set()

    def on_status(text: str) -> None:
        key = text.split(":")[0] if text.startswith("Encoding with") else text
        if key not in seen:
            seen.add(key)
            mark("status: " + key)

    library = Library()
    t0 = time.perf_counter()
    result = pipeline.encode_inputs(
        [args.input], pipeline.EncodeOptions(model=args.model, column="text", name="memory"),
        library, TaskState(on_status=on_status))
    wall = time.perf_counter() - t0
    folder = Path(result.entry.path)
    import hashlib

    code = {Path(m.__file__).name: hashlib.sha1(Path(m.__file__).read_bytes()).hexdigest()[:12]
            for m in (pipeline, library_mod)}
    mark("end", wall_s=wall, count=result.count, dim=result.dim, code_sha1=code,
         window_batches=pipeline.WINDOW_BATCHES,
         items_per_s=result.count / wall, pipeline_items_per_s=result.items_per_second,
         vectors_npy_bytes=(folder / "vectors.npy").stat().st_size,
         metadata_bytes=(folder / "metadata.parquet").stat().st_size)


# ---------------------------------------------------------------- parent


class Sampler:
    """Samples /proc/<pid>/status; keeps the peak of every figure, overall and per phase."""

    def __init__(self, pid: int, period: float):
        self.pid, self.period = pid, period
        self.phase = "start"
        self.peaks: dict[str, dict[str, int]] = {}
        self.order: list[str] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def set_phase(self, phase: str):
        self.phase = phase

    def _run(self):
        while not self._stop.is_set():
            try:
                s = proc_status(self.pid)
            except (OSError, ValueError):
                return
            self.samples += 1
            phase = self.phase
            if phase not in self.peaks:
                self.peaks[phase] = {}
                self.order.append(phase)
            peak = self.peaks[phase]
            for k, v in s.items():
                peak[k] = max(peak.get(k, 0), v)
            time.sleep(self.period)

    def stop(self):
        self._stop.set()
        self._thread.join()


PHASE_OF = {  # child event -> the phase that starts with it
    "baseline": "encoding",
    "status: Storing the set in the library": "import: begins",
    "import: read the windows' metadata start": "import: read metadata",
    "import: read the windows' metadata end": "import: after read metadata",
    "import: check_set (scan vectors) start": "import: check_set",
    "import: check_set (scan vectors) end": "import: after check_set",
    "import: write vectors.npy start": "import: write vectors",
    "import: write vectors.npy end": "import: after write vectors",
    "import: write metadata.parquet start": "import: write metadata",
    "import: write metadata.parquet end": "import: after write metadata",
    "end": "end",
}


def run_job(args, tmp: Path, inp: Path, model: Path) -> dict:
    env = {**os.environ, "EXPLORER_HOME": str(tmp / "home"), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, __file__, "--child", "--input", str(inp), "--model", str(model)]
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    sampler = Sampler(proc.pid, args.period)
    sampler.set_phase("imports + open model")
    sampler.start()
    events = []
    for line in proc.stdout:
        try:
            ev = json.loads(line)
        except ValueError:
            log("child:", line.rstrip())
            continue
        events.append(ev)
        if ev["event"] in PHASE_OF:
            sampler.set_phase(PHASE_OF[ev["event"]])
        log(f"  {time.time() - t0:7.1f} s  {ev['event']:<45} RSS {ev['VmRSS'] / MiB:8.1f} MiB  "
            f"anon {ev['RssAnon'] / MiB:8.1f}  file {ev['RssFile'] / MiB:8.1f}  "
            f"HWM {ev['VmHWM'] / MiB:8.1f}")
    rc = proc.wait()
    sampler.stop()
    import resource

    children_maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if rc != 0:
        raise SystemExit(f"the encode job failed with exit code {rc}")
    return {"events": events, "peaks": sampler.peaks, "order": sampler.order,
            "samples": sampler.samples, "children_maxrss": children_maxrss,
            "process_s": time.time() - t0}


def report(args, job: dict, input_bytes: int, gen_s: float) -> dict:
    ev = {e["event"]: e for e in job["events"]}
    base, end = ev["baseline"], ev["end"]
    out_bytes = args.n * DIM * 4
    peaks = job["peaks"]
    peak_rss = max(end["VmHWM"], max(p.get("VmRSS", 0) for p in peaks.values()))
    peak_anon = max(p.get("RssAnon", 0) for p in peaks.values())
    peak_file = max(p.get("RssFile", 0) for p in peaks.values())
    rec = {
        "what": "bench_encode_memory", "n": args.n, "dim": DIM, "format": args.format,
        "output_bytes": out_bytes, "input_bytes": input_bytes,
        "baseline_rss": base["VmRSS"], "baseline_anon": base["RssAnon"],
        "baseline_file": base["RssFile"], "peak_rss_vmhwm": end["VmHWM"],
        "peak_rss_sampled": max(p.get("VmRSS", 0) for p in peaks.values()),
        "peak_anon_sampled": peak_anon, "peak_file_sampled": peak_file,
        "rusage_children_maxrss": job["children_maxrss"],
        "peak_minus_baseline_over_output": (peak_rss - base["VmRSS"]) / out_bytes,
        "anon_peak_minus_baseline_over_output": (peak_anon - base["RssAnon"]) / out_bytes,
        "wall_s": end["wall_s"], "items_per_s": end["items_per_s"],
        "pipeline_items_per_s": end["pipeline_items_per_s"], "count": end["count"],
        "vectors_npy_bytes": end["vectors_npy_bytes"], "metadata_bytes": end["metadata_bytes"],
        "code_sha1": end["code_sha1"], "window_batches": end["window_batches"],
        "child_setup_s": base["setup_s"], "generate_s": gen_s, "samples": job["samples"],
        "sample_period_s": args.period,
        "phase_peaks": {ph: peaks[ph] for ph in job["order"]},
        "phase_start_s": {e["event"]: round(e["t"] - base["t"], 2) for e in job["events"]},
        "loadavg_start": args.load_start, "loadavg_end": [round(v, 2) for v in os.getloadavg()],
    }
    print()
    print(f"encode memory benchmark: {args.n:,} items -> {DIM}-d float32 ({out_bytes / MiB:,.0f} MiB "
          f"of output), tiny bert_like ONNX model, input {args.format} {input_bytes / MiB:,.1f} MiB")
    print(f"load average at start {rec['loadavg_start']}, at end {rec['loadavg_end']} "
          f"on {os.cpu_count()} cpus")
    print(f"wall time of encode_inputs {rec['wall_s']:,.1f} s = {rec['items_per_s']:,.0f} items/s "
          f"(the pipeline's own figure {rec['pipeline_items_per_s']:,.0f}/s); child set-up "
          f"(imports + open model) {rec['child_setup_s']:.1f} s; input generated in {gen_s:.0f} s")
    print("code: " + ", ".join(f"{k} sha1 {v}" for k, v in end["code_sha1"].items())
          + f", pipeline.WINDOW_BATCHES {end['window_batches']}")
    print(f"baseline RSS (after imports + opening the model) {base['VmRSS'] / MiB:8.1f} MiB "
          f"(anon {base['RssAnon'] / MiB:.1f}, file {base['RssFile'] / MiB:.1f})")
    print(f"peak RSS (VmHWM)                                 {end['VmHWM'] / MiB:8.1f} MiB; "
          f"sampled every {args.period * 1e3:.0f} ms: RSS {rec['peak_rss_sampled'] / MiB:.1f}, "
          f"anon {peak_anon / MiB:.1f}, file {peak_file / MiB:.1f}; getrusage(RUSAGE_CHILDREN) "
          f"ru_maxrss {job['children_maxrss'] / MiB:.1f} MiB")
    print(f"output bytes (n x {DIM} x 4)                     {out_bytes / MiB:8.1f} MiB; "
          f"library vectors.npy {rec['vectors_npy_bytes'] / MiB:.1f} MiB, metadata.parquet "
          f"{rec['metadata_bytes'] / MiB:.1f} MiB")
    print(f"(peak RSS - baseline) / output bytes       = {rec['peak_minus_baseline_over_output']:.3f}")
    print(f"(peak anon - baseline anon) / output bytes = "
          f"{rec['anon_peak_minus_baseline_over_output']:.3f}")
    print(f"{'phase':<30} {'from s':>8} {'peak RSS MiB':>12} {'anon MiB':>9} {'file MiB':>9}")
    starts = {}
    for e in job["events"]:
        ph = PHASE_OF.get(e["event"])
        if ph and ph not in starts:
            starts[ph] = e["t"] - base["t"]
    for ph in job["order"]:
        p = peaks[ph]
        s = starts.get(ph)
        print(f"{ph:<30} {'' if s is None else f'{s:8.1f}':>8} {p.get('VmRSS', 0) / MiB:12.1f} "
              f"{p.get('RssAnon', 0) / MiB:9.1f} {p.get('RssFile', 0) / MiB:9.1f}")
    print("(anon = private memory: heap, arrays; file = mapped file pages, clean page cache the"
          " kernel can reclaim, counted in RSS all the same)")
    print(json.dumps(rec), flush=True)
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--period", type=float, default=0.05, help="RSS sampling period, seconds")
    ap.add_argument("--dir", default=None, help="parent of the temporary folder")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--make", choices=("input", "model"), help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    if args.make == "input":
        generate(Path(args.out), args.n, args.seed, args.format)
        return
    if args.make == "model":
        write_model(Path(args.out))
        return
    args.load_start = [round(v, 2) for v in os.getloadavg()]
    log(f"load average at start {args.load_start}")
    with tempfile.TemporaryDirectory(prefix="bench-encode-memory-", dir=args.dir) as t:
        tmp = Path(t)
        inp = tmp / f"texts.{args.format}"
        model = tmp / "model"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        t0 = time.time()
        # Input and model are made in child processes, so this process stays small.
        for what, out in (("model", model), ("input", inp)):
            subprocess.run([sys.executable, __file__, "--make", what, "--out", str(out),
                            "--n", str(args.n), "--seed", str(args.seed),
                            "--format", args.format], check=True, env=env, cwd=REPO)
        gen_s = time.time() - t0
        log(f"running the job on {args.n:,} items")
        job = run_job(args, tmp, inp, model)
        report(args, job, inp.stat().st_size, gen_s)


if __name__ == "__main__":
    main()
