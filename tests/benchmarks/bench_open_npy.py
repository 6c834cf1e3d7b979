"""Benchmark: open a 1,000,000 x 384 float32 .npy to a usable set.

Not a pytest test (run it by hand):

    .venv/bin/python tests/benchmarks/bench_open_npy.py [--dir DIR] [--reps 5]

It writes the array in chunks (RAM stays flat), warms the page cache, then for
each repetition starts FRESH child processes (warm page cache, fresh RSS) that
time, with `time.perf_counter`:

  ours      explorer.core.loaders.open_file(path) + explorer.core.checks.check_set(es)
  baseline  np.load(path, mmap_mode="r") + np.einsum("ij,ij->i", a, a), one full pass
  library   Library(root).open(id) (+ check_set), after one import into a temporary library

Each child prints one JSON line (stage times, peak RSS from getrusage
ru_maxrss); the parent echoes them and prints medians, the ratio
ours/baseline, and the target: open+check < 1 s and peak RSS < 1.2 x file
size + 300 MB. Stage times exclude the interpreter start and `import`s, which
are reported separately (`import_s`, `process_s`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the app is imported in the child, where its import is timed
    from explorer.core.embedding_set import EmbeddingSet

REPO = Path(__file__).resolve().parents[2]
MB = 1 << 20
CHUNK_ROWS = 50_000  # 77 MB of float32 x 384 per chunk while generating
TARGET_SECONDS = 1.0


def _peak_rss_mb() -> float:
    """ru_maxrss of this process, in MB (Linux reports KiB).

    Linux carries the parent's high-water mark into a child across fork/exec,
    which is why the parent of the runs stays small (it never imports numpy:
    even generating the file happens in a child).
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _vm_hwm_mb() -> float | None:
    """VmHWM from /proc: the peak RSS of this process image alone (None off Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# --- children ----------------------------------------------------------------------

def open_and_check(out: dict, t0: float, open_set: Callable[[], EmbeddingSet]) -> None:
    """What the app's two ways in ("ours", "library") both report: the time to import it
    (since `t0`), to open the set and to check every row, and what the check found."""
    from explorer.core.checks import check_set

    out["import_s"] = time.perf_counter() - t0
    out["rss_after_import_mb"] = _peak_rss_mb()
    t = time.perf_counter()
    es = open_set()
    out["open_s"] = time.perf_counter() - t
    t = time.perf_counter()
    report = check_set(es)
    out["check_s"] = time.perf_counter() - t
    out["bad_rows"] = report.scan.nan_rows + report.scan.n_zero_rows
    out["shape"] = [es.count, es.dim]


def child(args: argparse.Namespace) -> dict:
    mode, path, root, set_id = args.child, args.path, args.root, args.set_id
    t0 = time.perf_counter()
    import numpy as np

    out: dict = {"mode": mode}
    if mode == "generate":
        out["generate_s"] = generate(Path(path), args.rows, args.dim)
    elif mode == "baseline":
        out["import_s"] = time.perf_counter() - t0
        out["rss_after_import_mb"] = _peak_rss_mb()
        t = time.perf_counter()
        a = np.load(path, mmap_mode="r")
        out["open_s"] = time.perf_counter() - t
        t = time.perf_counter()
        sq = np.einsum("ij,ij->i", a, a)
        out["check_s"] = time.perf_counter() - t
        out["bad_rows"] = int((~np.isfinite(sq) | (sq == 0)).sum())
    elif mode == "ours":
        from explorer.core.loaders import open_file

        open_and_check(out, t0, lambda: open_file(path))
    elif mode == "library-import":
        from explorer.core.library import Library
        from explorer.core.loaders import open_file

        out["import_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        entry = Library(root=Path(root)).import_set(open_file(path))
        out["library_import_s"] = time.perf_counter() - t
        out["set_id"] = entry.id
    elif mode == "library":
        from explorer.core.library import Library

        open_and_check(out, t0, lambda: Library(root=Path(root)).open(set_id))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    if "open_s" in out:
        out["total_s"] = out["open_s"] + out["check_s"]
    out["peak_rss_mb"] = _peak_rss_mb()
    out["vm_hwm_mb"] = _vm_hwm_mb()
    return out


def run_child(mode: str, path: Path, root: Path | None = None,
              set_id: str | None = None, extra: tuple[str, ...] = ()) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--path", str(path),
           *extra]
    if root is not None:
        cmd += ["--root", str(root)]
    if set_id is not None:
        cmd += ["--set-id", set_id]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"]
                                     if env.get("PYTHONPATH") else "")
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"child {mode} failed ({done.returncode}):\n{done.stderr}")
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
    result = json.loads(line)
    result["process_s"] = wall
    return result


# --- parent ------------------------------------------------------------------------

def generate(path: Path, rows: int, dim: int, seed: int = 0) -> float:
    """Write a standard-normal float32 array chunk by chunk; returns seconds taken."""
    import numpy as np

    if path.exists():
        try:
            existing = np.load(path, mmap_mode="r")
            if existing.shape == (rows, dim) and existing.dtype == np.float32:
                return 0.0  # reuse an earlier run's file (with --dir)
        except (OSError, ValueError):
            pass
    t = time.perf_counter()
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".partial.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(rows, dim))
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(rows, start + CHUNK_ROWS)
        out[start:stop] = rng.standard_normal((stop - start, dim), dtype=np.float32)
    out.flush()
    del out
    os.replace(tmp, path)
    return time.perf_counter() - t


def warm_cache(path: Path) -> float:
    """Read the file once through a small buffer so the page cache holds it."""
    t = time.perf_counter()
    buf = bytearray(4 * MB)
    with open(path, "rb", buffering=0) as fh:
        while fh.readinto(buf):
            pass
    return time.perf_counter() - t


def median(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, help="where to write the .npy (kept); default: a temp dir")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-library", action="store_true", help="skip the library import/reopen")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("--set-id", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(child(args)), flush=True)
        return 0

    own_tmp = args.dir is None
    work = Path(tempfile.mkdtemp(prefix="bench-open-npy-")) if own_tmp else args.dir
    work.mkdir(parents=True, exist_ok=True)
    lib_root = Path(tempfile.mkdtemp(prefix="bench-library-", dir=work))
    try:
        path = work / f"vectors_{args.rows}x{args.dim}.npy"
        # Generated in a child: the parent must stay small (see _peak_rss_mb).
        shape = ("--rows", str(args.rows), "--dim", str(args.dim))
        gen_s = run_child("generate", path, extra=shape)["generate_s"]
        size = path.stat().st_size
        warm_s = warm_cache(path)
        info = {"event": "setup", "path": str(path), "file_mb": round(size / MB, 1),
                "generate_s": round(gen_s, 2), "warm_read_s": round(warm_s, 2),
                "python": sys.version.split()[0], "cpus": os.cpu_count()}
        print(json.dumps(info), flush=True)

        # One untimed run of each kind first: pyc files and the page cache are warm after it.
        for mode in ("baseline", "ours"):
            run_child(mode, path)
        results: dict[str, list[dict]] = {"ours": [], "baseline": []}
        for rep in range(args.reps):
            for mode in ("ours", "baseline"):
                r = run_child(mode, path)
                r["rep"] = rep
                results[mode].append(r)
                print(json.dumps(_rounded(r)), flush=True)

        library: list[dict] = []
        lib_import: dict | None = None
        if not args.no_library:
            lib_import = run_child("library-import", path, root=lib_root)
            print(json.dumps(_rounded(lib_import)), flush=True)
            warm_cache(Path(lib_root) / "sets" / lib_import["set_id"] / "vectors.npy")
            run_child("library", path, root=lib_root, set_id=lib_import["set_id"])
            for rep in range(args.reps):
                r = run_child("library", path, root=lib_root, set_id=lib_import["set_id"])
                r["rep"] = rep
                library.append(r)
                print(json.dumps(_rounded(r)), flush=True)

        summary = _summary(results, library, lib_import, size, args)
        print(json.dumps({"event": "summary", **summary}), flush=True)
        _print_table(summary)
        return 0
    finally:
        shutil.rmtree(lib_root, ignore_errors=True)
        if own_tmp:
            shutil.rmtree(work, ignore_errors=True)


def _rounded(r: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}


def _stage_medians(rs: list[dict]) -> dict:
    keys = ("import_s", "open_s", "check_s", "total_s", "process_s", "rss_after_import_mb",
            "peak_rss_mb", "vm_hwm_mb")
    return {k: round(median(rs, k), 4) for k in keys
            if rs and all(r.get(k) is not None for r in rs)}


def _summary(results: dict, library: list[dict], lib_import: dict | None, size: int,
             args) -> dict:
    ours, base = _stage_medians(results["ours"]), _stage_medians(results["baseline"])
    rss_limit = 1.2 * size / MB + 300
    out = {
        "rows": args.rows, "dim": args.dim, "reps": args.reps,
        "file_mb": round(size / MB, 1),
        "ours": ours, "baseline": base,
        "ratio_total_ours_over_baseline": round(ours["total_s"] / base["total_s"], 2),
        "ratio_peak_rss_ours_over_baseline": round(ours["peak_rss_mb"] / base["peak_rss_mb"], 2),
        "parent_rss_mb": round(_peak_rss_mb(), 1),
        "target": {
            "time_s_limit": TARGET_SECONDS, "time_s": ours["total_s"],
            "time_ok": ours["total_s"] < TARGET_SECONDS,
            "rss_mb_limit": round(rss_limit, 1), "rss_mb": ours["peak_rss_mb"],
            "rss_ok": ours["peak_rss_mb"] < rss_limit,
        },
    }
    if lib_import is not None:
        out["library_import_s"] = round(lib_import["library_import_s"], 3)
        out["library_open"] = _stage_medians(library)
    return out


def _print_table(s: dict) -> None:
    def row(label: str, m: dict) -> str:
        return (f"  {label:<10} open {m['open_s']:8.4f} s   check {m['check_s']:7.3f} s   "
                f"total {m['total_s']:7.3f} s   imports {m['import_s']:5.2f} s   "
                f"process {m['process_s']:5.2f} s   peak RSS {m['peak_rss_mb']:7.0f} MB "
                f"(after imports {m['rss_after_import_mb']:4.0f} MB"
                + (f", VmHWM {m['vm_hwm_mb']:.0f} MB)" if "vm_hwm_mb" in m else ")"))

    t = s["target"]
    print(f"\n{s['rows']:,} x {s['dim']} float32, {s['file_mb']:.0f} MB, "
          f"medians of {s['reps']} fresh processes (warm page cache):", file=sys.stderr)
    print(row("ours", s["ours"]), file=sys.stderr)
    print(row("baseline", s["baseline"]), file=sys.stderr)
    if "library_open" in s:
        print(row("library", s["library_open"]), file=sys.stderr)
        print(f"  library import (once): {s['library_import_s']:.2f} s", file=sys.stderr)
    print(f"  ours/baseline: time x{s['ratio_total_ours_over_baseline']}, "
          f"peak RSS x{s['ratio_peak_rss_ours_over_baseline']}", file=sys.stderr)
    print(f"  target: open+check {t['time_s']:.3f} s < {t['time_s_limit']} s "
          f"{'OK' if t['time_ok'] else 'MISSED'}; peak RSS {t['rss_mb']:.0f} MB < "
          f"{t['rss_mb_limit']:.0f} MB {'OK' if t['rss_ok'] else 'MISSED'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
