"""Benchmark: encoding short texts with the default model (issue 5), ours vs a bare onnxruntime loop.

Not a pytest test. Run directly (takes a few minutes on 2 cores):

    .venv/bin/python tests/benchmarks/bench_encode.py [--n 4000] [--rounds 3] [--format parquet]

The default model, all-MiniLM-L6-v2 int8, is installed offline with
`install_model("minilm")` into a temporary EXPLORER_HOME (nothing touches the
user's library). The texts are N seeded, synthetic English sentences of 5-40
words (lognormal lengths, median ~14 words; Zipf-weighted words from a fixed
list, so the same seed gives the same texts on any machine). Measured, in
items/s, in ONE run:

  ours: pipeline   explorer.compute.encoding.pipeline.encode_inputs on a Parquet (or CSV)
                   file holding the texts in a column: the whole path -- opening the model,
                   the input plan, the reader thread tokenising the next window while the
                   model runs this one, the work folder, the import into the library
  ours: encoder    TextEncoder.encode(texts, batch_size=64) on an encoder built once
  bare ort loop    written plainly here, none of our classes: tokenizers.Tokenizer (no
                   padding, truncation 256 as ours), all texts tokenised, sorted by token
                   length (longest first), batches of 64 padded to their longest, one
                   InferenceSession (intra_op_num_threads = cores, inter_op 1, sequential,
                   all graph optimisations), masked mean pooling + normalise in numpy
  naive fixed pad  the published tokenizer.json as shipped (pads and truncates every input
                   to 128), batches of 64 in input order, same session options; timed on
                   the first --naive-n texts only (it is ~13x slower)
  bare, windowed   (diagnostic) the bare loop fed batching like the pipeline's: windows of
                   64 x pipeline.WINDOW_BATCHES items in input order, each sorted by token
                   count (--diag-sort chars: by characters, as pipeline.py did before it
                   tokenised whole windows) -- separates what windowed batching costs from
                   what the pipeline's machinery costs

Interleaved rounds: every round runs each method once in a rotated order, with a short
pause before each call (onnxruntime's worker threads spin for a while after a run).
Reported: the median items/s per method, ratios to the bare loop (of medians, and the
median of per-round ratios), a breakdown of the pipeline's time (setup / encoding loop /
library import, from its status messages) and of the bare loop's (tokenising / session
runs / the rest), the padding each batching scheme carries, and whether the vectors
agree: max |diff| and min cosine of each method against the bare loop. The "int8" export
only stores its weights as int8 (Cast + scale back to float32, folded when the session is
built; there is no activation quantisation), so a row's vector does not depend on the
batch it ran in: expect a difference of exactly 0 for every method, even though the
pipeline batches differently (within windows, the others over all N texts) and the naive
loop pads to 128. The sha1 of pipeline.py and text_encoder.py is printed, as they change
under active development. The machine's load
average is printed at the start and the end; only medians and ratios mean anything on
a shared machine. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

BATCH = 64
MAX_TOKENS = 256  # what our encoder truncates the default model to (its training limit)

# ---------------------------------------------------------------- texts

# Common English words, most frequent first (the Zipf weights follow this order).
WORDS = """
the of and to a in is that for it as was with be by on not he this are or his from at which
but have an they you were her she there would their we him been has when who will more no if
out so said what up its about into than them can only other new some could time these two may
then do first any my now such like our over man me even most made after also did many before
must through back years where much your way well down should because each just those people
how too little state good very make world still own see men work long get here between both
life being under never day same another know while last might us great old year off come
since against go came right used take three states himself few house use during without again
place american around however home small found thought went say part once general high upon
school every does got united left number course war until always away something fact though
water less public put think almost hand enough far took head yet government system better set
told nothing night end why called didn't eyes find going look asked later knew point next city
business give group toward young days let room president side social given present several
order national possible rather second face per among form important often things looked early
white john case become large big need four within felt along children saw best church ever
least power development light thing seemed family interest want members mind country area
others done turned although open god service problem certain kind different thus began door
help means sense whole matter perhaps itself york times law human line above name example
action company hands local show whether five history gave today either act feet across taken
past quite anything having seen death experience body word half really week field car words
already themselves information tell college shall money period held keep sure free seems real
behind cannot miss political air question office making brought whose special heard major
problems ago became federal moment study available known result street economic boy position
reason change south board individual job areas society west close turn love community true
court force full seem am age policy effect million music research model data file vector map
search library text image language meaning computer network training neural embedding sentence
""".split()
NAMES = ["London", "Paris", "Python", "Maria", "Kenji", "Amazon", "Tuesday", "March", "Oslo",
         "Lagos", "Einstein", "Mars", "Linux", "Nile", "Toronto", "Beethoven"]


def make_texts(n: int, seed: int, median_words: float = 14) -> list[str]:
    """n English-like sentences of 5-40 words (median ~14): deterministic for a seed."""
    rng = np.random.default_rng(seed)
    w = 1.0 / np.arange(1, len(WORDS) + 1) ** 0.9
    w /= w.sum()
    lengths = np.clip(np.round(rng.lognormal(np.log(median_words), 0.5, n)), 5, 40).astype(int)
    out = []
    for k in lengths:
        words = list(rng.choice(WORDS, size=k, p=w))
        for _ in range(rng.binomial(2, 0.3)):  # a name or a number now and then
            j = int(rng.integers(0, k))
            words[j] = (NAMES[int(rng.integers(0, len(NAMES)))] if rng.random() < 0.7
                        else str(int(rng.integers(2, 2030))))
        if k > 10 and rng.random() < 0.5:
            j = int(rng.integers(3, k - 3))
            words[j] += ","
        words[0] = words[0][:1].upper() + words[0][1:]
        out.append(" ".join(words) + ("?" if rng.random() < 0.1 else "."))
    return out


def write_input(texts: list[str], path: Path, fmt: str) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pa.table({"id": pa.array(np.arange(len(texts))), "text": pa.array(texts)})
    if fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


# ---------------------------------------------------------------- the bare loops (no explorer code)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def bare_session(model_file: Path, threads: int):
    from explorer.compute.encoding.runtime import ort  # telemetry off before the import

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.float32)[:, :, None]
    v = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def windowed_batches(keys: np.ndarray, window: int) -> list[np.ndarray]:
    """Windows of `window` items in input order, each sorted by `keys` (longest first), cut
    into batches of 64: how the pipeline batches a stream it cannot sort as a whole."""
    out = []
    for w0 in range(0, len(keys), window):
        idx = np.arange(w0, min(len(keys), w0 + window))
        o = idx[np.argsort(-keys[idx], kind="stable")]
        out += [o[i:i + BATCH] for i in range(0, len(o), BATCH)]
    return out


def bare_loop(tokenizer, session, texts: list[str], parts: dict,
              window: int | None = None, by: str = "tokens") -> np.ndarray:
    """Tokenise all, sort by token length (longest first), pad each batch to its longest.

    With `window`: sorted only within windows, by tokens or chars (a diagnostic).
    """
    t0 = time.perf_counter()
    enc = tokenizer.encode_batch(texts)
    t1 = time.perf_counter()
    lengths = np.array([len(e.ids) for e in enc])
    if window is None:
        order = np.argsort(-lengths, kind="stable")
        batches = [order[lo:lo + BATCH] for lo in range(0, len(order), BATCH)]
    else:
        keys = lengths if by == "tokens" else np.array([len(t) for t in texts])
        batches = windowed_batches(keys, window)
    out = np.empty((len(texts), 384), np.float32)
    t_run = 0.0
    for rows in batches:
        width = int(lengths[rows].max())
        ids = np.zeros((len(rows), width), np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for i, r in enumerate(rows):
            e = enc[r]
            ids[i, :len(e.ids)] = e.ids
            mask[i, :len(e.ids)] = 1
        r0 = time.perf_counter()
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                    "token_type_ids": np.zeros_like(ids)})[0]
        t_run += time.perf_counter() - r0
        out[rows] = mean_pool_normalise(hidden, mask)
    total = time.perf_counter() - t0
    parts.update(tokenise_s=t1 - t0, run_s=t_run, other_s=total - (t1 - t0) - t_run)
    return out


def naive_loop(tokenizer_fixed, session, texts: list[str]) -> np.ndarray:
    """The published tokenizer as shipped (every input padded to 128), batches in input order."""
    out = []
    for lo in range(0, len(texts), BATCH):
        enc = tokenizer_fixed.encode_batch(texts[lo:lo + BATCH])
        ids = np.array([e.ids for e in enc], np.int64)
        mask = np.array([e.attention_mask for e in enc], np.int64)
        types = np.array([e.type_ids for e in enc], np.int64)
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                    "token_type_ids": types})[0]
        out.append(mean_pool_normalise(hidden, mask))
    return np.concatenate(out)


# ---------------------------------------------------------------- helpers


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def agreement(x: np.ndarray, ref: np.ndarray) -> dict:
    cos = (x * ref).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(ref, axis=1))
    return {"max_abs_diff": float(np.abs(x - ref).max()), "min_cosine": float(cos.min()),
            "median_cosine": float(np.median(cos)), "rows": int(len(x))}


def padding_stats(token_lengths: np.ndarray, char_lengths: np.ndarray, window: int) -> dict:
    """Padded positions fed to the model per real token, for each batching scheme."""
    real = int(token_lengths.sum())

    def fed(batches):
        return sum(len(b) * int(token_lengths[b].max()) for b in batches)

    glob = np.argsort(-token_lengths, kind="stable")
    sorted_tokens = [glob[i:i + BATCH] for i in range(0, len(glob), BATCH)]
    chars = np.argsort(char_lengths, kind="stable")
    by_chars = [chars[i:i + BATCH] for i in range(0, len(chars), BATCH)]

    return {"real_tokens_per_item": real / len(token_lengths),
            "fed_per_real:all_sorted_by_tokens": fed(sorted_tokens) / real,
            f"fed_per_real:windows_of_{window}_by_tokens":
                fed(windowed_batches(token_lengths, window)) / real,
            f"fed_per_real:windows_of_{window}_by_chars":
                fed(windowed_batches(char_lengths, window)) / real,
            "fed_per_real:windows_of_1024_by_chars": fed(windowed_batches(char_lengths, 1024))
                                                      / real,
            "fed_per_real:all_sorted_by_chars": fed(by_chars) / real,
            "fed_per_real:fixed_128": 128 * len(token_lengths) / real}


class PipelineClock:
    """Times the pipeline's phases from its status messages (no change to its code)."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.marks = {}

    def __call__(self, text: str):
        now = time.perf_counter()
        if text.startswith("Encoding with") and "encode_start" not in self.marks:
            self.marks["encode_start"] = now
        elif text.startswith("Storing the set"):
            self.marks["import_start"] = now

    def phases(self, t_end: float) -> dict:
        e0 = self.marks.get("encode_start", self.t0)
        i0 = self.marks.get("import_start", t_end)
        return {"setup_s": e0 - self.t0, "encode_loop_s": i0 - e0, "import_s": t_end - i0}


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000, help="texts (default 4000)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--median-words", type=float, default=14,
                    help="median sentence length in words (lognormal, clipped to 5-40)")
    ap.add_argument("--naive-n", type=int, default=512,
                    help="texts the naive fixed-padding loop is timed on (default 512)")
    ap.add_argument("--diag-sort", choices=("tokens", "chars"), default="tokens",
                    help="how the diagnostic 'bare, windowed' row sorts inside a window")
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                    help="the pipeline's input file")
    ap.add_argument("--pause", type=float, default=0.5, help="idle seconds before each timed call")
    ap.add_argument("--dir", default=None, help="parent of the temporary EXPLORER_HOME")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-encode-", dir=args.dir) as tmp:
        os.environ["EXPLORER_HOME"] = str(Path(tmp) / "home")
        run(args, Path(tmp))


def run(args, tmp: Path):
    from explorer.compute.encoding.runtime import ort  # telemetry off before the import
    import tokenizers
    from tokenizers import Tokenizer

    from explorer.compute.encoding.catalogue import install_model
    from explorer.compute.encoding.pipeline import WINDOW_BATCHES, EncodeOptions, encode_inputs
    from explorer.compute.encoding.text_encoder import TextEncoder
    from explorer.core.jobs import TaskState
    from explorer.core.library import Library

    import hashlib

    import explorer.compute.encoding.pipeline as pipeline_mod
    import explorer.compute.encoding.text_encoder as text_encoder_mod

    code = {Path(m.__file__).name: hashlib.sha1(Path(m.__file__).read_bytes()).hexdigest()[:12]
            for m in (pipeline_mod, text_encoder_mod)}
    load_start = loadavg()
    threads = cores()
    log(f"load average at start {load_start} on {os.cpu_count()} cpus ({threads} usable)")
    folder = install_model("minilm")
    texts = make_texts(args.n, args.seed, args.median_words)
    path = write_input(texts, tmp / f"texts.{args.format}", args.format)
    naive_n = min(args.naive_n, args.n)
    library = Library()

    # the bare loops' own objects, built once
    tok = Tokenizer.from_file(str(folder.tokenizer_file))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    tok_fixed = Tokenizer.from_file(str(folder.tokenizer_file))  # as published: pads to 128
    session = bare_session(folder.model_file, threads)
    encoder = TextEncoder(folder)

    token_lengths = np.array([len(e.ids) for e in tok.encode_batch(texts)])
    char_lengths = np.array([len(t) for t in texts])
    window = BATCH * WINDOW_BATCHES
    pad = padding_stats(token_lengths, char_lengths, window)

    results: dict[str, np.ndarray] = {}
    bare_parts: list[dict] = []
    pipe_phases: list[dict] = []

    def pipeline_run():
        clock = PipelineClock()
        state = TaskState(on_status=clock)
        res = encode_inputs([path], EncodeOptions(model=str(folder.path), column="text",
                                                  batch_size=BATCH, name="bench"),
                            library, state)
        t_end = time.perf_counter()
        pipe_phases.append({**clock.phases(t_end), "reported_items_per_s": res.items_per_second})
        es = library.open(res.entry.id)
        meta = es.metadata  # no "row" column when it would equal the position
        rows = (np.asarray(meta.column("row").to_pylist()) if "row" in meta.column_names
                else np.arange(es.count))
        vectors = np.empty((args.n, es.dim), np.float32)
        vectors[rows] = np.asarray(es.vectors)
        del es
        library.remove(res.entry.id)
        return vectors

    def bare_run():
        parts = {}
        out = bare_loop(tok, session, texts, parts)
        bare_parts.append(parts)
        return out

    methods = {  # name -> (fn, items)
        "ours: pipeline": (pipeline_run, args.n),
        "ours: encoder": (lambda: encoder.encode(texts, batch_size=BATCH), args.n),
        "bare ort loop": (bare_run, args.n),
        "naive fixed pad": (lambda: naive_loop(tok_fixed, session, texts[:naive_n]), naive_n),
        "bare, windowed": (lambda: bare_loop(tok, session, texts, {}, window, args.diag_sort),
                           args.n),
    }

    log("warming up (each method once on 256 texts)")
    few = texts[:256]
    encoder.encode(few)
    bare_loop(tok, session, few, {})
    naive_loop(tok_fixed, session, few[:BATCH])
    warm = write_input(few, tmp / f"warm.{args.format}", args.format)
    library.remove(encode_inputs([warm], EncodeOptions(model=str(folder.path), column="text"),
                                 library).entry.id)

    names = list(methods)
    rates = {m: [] for m in names}
    for r in range(args.rounds):
        shift = r % len(names)
        for m in names[shift:] + names[:shift]:
            fn, items = methods[m]
            gc.collect()
            time.sleep(args.pause)
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
            rates[m].append(items / dt)
            results.setdefault(m, out)
            log(f"  round {r + 1}/{args.rounds} {m:<16} {items / dt:8.1f} items/s ({dt:.2f} s)")
    load_end = loadavg()

    ref = results["bare ort loop"]
    agree = {m: agreement(results[m], ref[:len(results[m])]) for m in names
             if m != "bare ort loop"}
    agree["ours: pipeline vs ours: encoder"] = agreement(results["ours: pipeline"],
                                                         results["ours: encoder"])
    med = {m: statistics.median(v) for m, v in rates.items()}
    bare = rates["bare ort loop"]
    recs = []
    for m in names:
        recs.append({
            "method": m, "items": methods[m][1], "median_items_per_s": round(med[m], 1),
            "min": round(min(rates[m]), 1), "max": round(max(rates[m]), 1),
            "x_bare": round(med[m] / med["bare ort loop"], 3),
            "x_bare_paired": round(statistics.median(a / b for a, b in zip(rates[m], bare)), 3),
            "per_round": [round(v, 1) for v in rates[m]]})

    med_parts = {k: statistics.median(p[k] for p in bare_parts) for k in bare_parts[0]}
    med_phases = {k: statistics.median(p[k] for p in pipe_phases) for k in pipe_phases[0]}
    print()
    print(f"encode benchmark: {args.n:,} texts (seed {args.seed}, median words "
          f"{args.median_words:g}), model {folder.name} "
          f"({folder.model_file.stat().st_size / 1e6:.1f} MB, dim {folder.dim}), batch {BATCH}, "
          f"{threads} threads; onnxruntime {ort.__version__}, tokenizers "
          f"{tokenizers.__version__}; pipeline input: {args.format}")
    print(f"texts: words 5-40, chars median {int(np.median(char_lengths))}, tokens median "
          f"{int(np.median(token_lengths))} (p10 {int(np.percentile(token_lengths, 10))}, p90 "
          f"{int(np.percentile(token_lengths, 90))}, max {token_lengths.max()})")
    print(f"load average (1/5/15 min) at start {load_start}, at end {load_end} on "
          f"{os.cpu_count()} cpus")
    print(f"{'method':<18} {'items':>6} {'median/s':>9} {'min/s':>8} {'max/s':>8} "
          f"{'x bare':>7} {'paired':>7}  per round")
    for rec in recs:
        print(f"{rec['method']:<18} {rec['items']:>6} {rec['median_items_per_s']:>9.1f} "
              f"{rec['min']:>8.1f} {rec['max']:>8.1f} {rec['x_bare']:>7.3f} "
              f"{rec['x_bare_paired']:>7.3f}  {rec['per_round']}")
    print(f"targets: ours/bare >= 0.9 (pipeline {recs[0]['x_bare']:.3f}, encoder "
          f"{recs[1]['x_bare']:.3f}); >= 450 texts/s (pipeline {med['ours: pipeline']:.0f}, "
          f"encoder {med['ours: encoder']:.0f}, the bare loop itself {med['bare ort loop']:.0f})")
    diag = rates["bare, windowed"]
    print(f"pipeline / bare windowed ({window} by {args.diag_sort}): "
          f"{med['ours: pipeline'] / med[names[-1]]:.3f} (paired "
          f"{statistics.median(a / b for a, b in zip(rates['ours: pipeline'], diag)):.3f}); "
          f"bare windowed / bare: {med[names[-1]] / med['bare ort loop']:.3f}")
    print(f"code: pipeline.py sha1 {code['pipeline.py']}, text_encoder.py sha1 "
          f"{code['text_encoder.py']}, pipeline.WINDOW_BATCHES {WINDOW_BATCHES}")
    print("bare loop, median seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in med_parts.items()))
    print("pipeline, median seconds: " + ", ".join(
        f"{k} {v:.2f}" if k.endswith("_s") else f"{k} {v:.0f}" for k, v in med_phases.items()))
    print("padding (positions fed to the model per real token): " + ", ".join(
        f"{k.split(':', 1)[-1]} {v:.3f}" if k.startswith("fed") else f"{k} {v:.1f}"
        for k, v in pad.items()))
    print("vectors vs the bare loop:")
    for m, a in agree.items():
        print(f"  {m:<34} max |diff| {a['max_abs_diff']:.2e}  min cosine {a['min_cosine']:.6f}  "
              f"median cosine {a['median_cosine']:.7f}  ({a['rows']} rows)")
    print(json.dumps({
        "what": "bench_encode", "n": args.n, "naive_n": naive_n, "rounds": args.rounds,
        "seed": args.seed, "median_words": args.median_words, "code_sha1": code,
        "window_batches": WINDOW_BATCHES, "diag_sort": args.diag_sort, "format": args.format, "threads": threads, "batch": BATCH,
        "cpu": platform.processor() or platform.machine(), "onnxruntime": ort.__version__,
        "tokenizers": tokenizers.__version__, "loadavg_start": load_start,
        "loadavg_end": load_end, "methods": recs, "bare_parts_s": med_parts,
        "pipeline_phases_s": med_phases, "padding": pad, "agreement": agree}), flush=True)


if __name__ == "__main__":
    main()
