"""Fuzz tally (issue 14): many mutated files of every format, and what became of each.

Not a pytest test (tests/core/test_fuzz_files.py is the CI-sized one). Run it by hand:

    .venv/bin/python tests/benchmarks/fuzz_files.py [--cases 200] [--kinds npy,csv]
        [--cli-every 20] [--timeout 30] [--json tally.json]

For each kind of file (every format the loaders read, and variants such as GloVe without
a header or an Arrow stream) it writes a small valid file, then runs --cases Hypothesis
mutations of it (byte flips, truncation, inserted / deleted / duplicated runs, integers
and header fields set to huge, negative or zero values, dtype strings changed; seeded per
kind, so a run is reproducible with the same Hypothesis version). Each case runs in a
forked child with a 2 GiB memory allowance and a timeout (tests/core/fuzz_files_harness.py):
open_file + check_set, then `inspect --json` in-process. Every --cli-every-th case also
runs the real `python -m explorer inspect --json` in a subprocess.

It prints a table, kind x (success / clean / insane / traceback / memory / hang / crash),
and every distinct bad site (outcome, exception type, innermost frame in explorer/) with
its count, its first case and a one-line command that repeats it:

    .venv/bin/python tests/benchmarks/fuzz_files.py --repro KIND 'OPS_JSON'

To measure another checkout, put it first on PYTHONPATH (the header line says which
explorer was imported):

    PYTHONPATH=/tmp/fuzz-base:/tmp/fuzz-base/plugins/safetensors .venv/bin/python \
        tests/benchmarks/fuzz_files.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

import fuzz_files_corpus as corpus  # noqa: E402
import fuzz_files_harness as fz  # noqa: E402
import fuzz_files_mutations as mutation  # noqa: E402


def run_kind(server: fz.FuzzServer, kind: str, cases: int, workdir: Path, timeout: float,
             cli_every: int, on_case) -> None:
    from hypothesis import HealthCheck, Phase, given, seed, settings

    valid = corpus.write_valid(kind, workdir / "valid" / kind)
    original = valid.read_bytes()
    target = workdir / "case" / kind / valid.name
    target.parent.mkdir(parents=True, exist_ok=True)
    baseline = server.run(valid, timeout=timeout)
    on_case(kind, [], baseline, None, baseline=True)
    count = [0]

    @seed(zlib.crc32(f"fuzz-files:{kind}".encode()))
    @settings(max_examples=cases, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(ops=mutation.mutations(kind))
    def one(ops):
        target.write_bytes(mutation.apply(original, ops))
        result = server.run(target, timeout=timeout)
        count[0] += 1
        real = None
        if cli_every and count[0] % cli_every == 0:
            real = fz.run_cli_subprocess(target, env=server.env, timeout=timeout)
        on_case(kind, ops, result, real)

    one()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=200, help="mutations per kind (default 200)")
    p.add_argument("--kinds", help="comma-separated, default all: " + ",".join(corpus.KINDS))
    p.add_argument("--timeout", type=float, default=fz.TIMEOUT, help="seconds before a hang")
    p.add_argument("--cli-every", type=int, default=20,
                   help="run the real CLI in a subprocess every N cases (0: never)")
    p.add_argument("--json", type=Path, help="write every case's outcome here")
    p.add_argument("--sites", type=int, default=40, help="distinct bad sites to print")
    p.add_argument("--repro", nargs=2, metavar=("KIND", "OPS_JSON"),
                   help="run one case and print everything about it")
    args = p.parse_args(argv)

    with fz.FuzzServer() as server, tempfile.TemporaryDirectory(prefix="fuzz-files-") as tmp:
        info = server.info
        print(f"explorer: {info['explorer']}")
        print(f"safetensors plugin: {info['safetensors_plugin']}")
        print(f"formats: {' '.join(info['formats'])}")
        probe = subprocess.run([sys.executable, "-c", "import explorer; print(explorer.__file__)"],
                               env=server.env, cwd=tmp, capture_output=True, text=True)
        print(f"real CLI imports: {probe.stdout.strip() or probe.stderr.strip()}")
        if args.repro:
            return _repro(server, Path(tmp), args)
        kinds = args.kinds.split(",") if args.kinds else list(corpus.KINDS)
        skipped = [k for k in kinds if corpus.KINDS[k].format not in server.formats]
        kinds = [k for k in kinds if k not in skipped]
        if skipped:
            print(f"skipped (no loader): {', '.join(skipped)}")

        tally = {k: Counter() for k in kinds}
        real_tally = {k: Counter() for k in kinds}
        sites: dict[tuple, dict] = {}
        mismatches: list[tuple] = []
        records: list[dict] = []
        baselines: dict[str, str] = {}
        slowest = [0.0, None]
        retried: list[tuple] = []

        def on_case(kind, ops, result, real, baseline=False):
            if baseline:
                baselines[kind] = result["outcome"]
                if result["outcome"] != "success":
                    print(f"!! the valid {kind} file does not load:\n{fz.describe(result)}")
                return
            tally[kind][result["outcome"]] += 1
            if result.get("retried"):
                retried.append((kind, ops, result["retried"], result["outcome"]))
            if result.get("elapsed", 0) > slowest[0]:
                slowest[:] = [result["elapsed"], (kind, ops)]
            if result["outcome"] not in fz.GOOD:
                key = (kind,) + fz.site_key(result)
                entry = sites.setdefault(key, {"count": 0, "kind": kind, "ops": ops,
                                               "result": result})
                entry["count"] += 1
            if real is not None:
                real_tally[kind][real["outcome"]] += 1
                if real["outcome"] != result["outcome"]:
                    mismatches.append((kind, ops, result["outcome"], real))
            if args.json:
                records.append({"kind": kind, "ops": mutation.jsonable(ops),
                                "outcome": result["outcome"], "result": result,
                                "real_cli": real})

        start = time.perf_counter()
        for kind in kinds:
            t0 = time.perf_counter()
            run_kind(server, kind, args.cases, Path(tmp), args.timeout, args.cli_every, on_case)
            c = tally[kind]
            print(f"  {kind:20s} {sum(c.values()):4d} cases in {time.perf_counter() - t0:6.1f} s  "
                  + " ".join(f"{o}={c[o]}" for o in fz.OUTCOMES if c[o]), file=sys.stderr,
                  flush=True)
        total_s = time.perf_counter() - start

        print()
        print(f"{sum(sum(c.values()) for c in tally.values())} cases in {total_s:.0f} s "
              f"(timeout {args.timeout:g} s, memory allowance {fz.MEMORY_LIMIT / fz.GIB:g} GiB); "
              f"slowest case {slowest[0]:.2f} s")
        print(_table(tally, "open_file + check_set + inspect --json in-process"))
        if args.cli_every:
            print()
            print(_table(real_tally, f"real CLI subprocess, every {args.cli_every}th case"))
            agree = sum(sum(c.values()) for c in real_tally.values()) - len(mismatches)
            print(f"real CLI agrees with the in-process outcome in {agree} of "
                  f"{sum(sum(c.values()) for c in real_tally.values())} cases")
            for kind, ops, ours, real in mismatches[:10]:
                print(f"  mismatch {kind}: in-process {ours}, real CLI {real['outcome']} "
                      f"({real.get('message', '')[:200]})\n    {mutation.repro_command(kind, ops)}")
        if retried:
            print(f"{len(retried)} hangs or crashes did not happen again when run once more "
                  "(counted by the second run; a stall of the shared machine?):")
            for kind, ops, first, second in retried[:10]:
                print(f"  {kind}: {first}, then {second}: {mutation.repro_command(kind, ops)}")
        bad_base = {k: v for k, v in baselines.items() if v != "success"}
        if bad_base:
            print(f"valid files that do not load: {bad_base}")

        print()
        print(f"distinct bad sites: {len(sites)} (kind, outcome, exception, innermost explorer "
              "frame)")
        ordered = sorted(sites.items(), key=lambda kv: (-fz.RANK[kv[0][1]], -kv[1]["count"]))
        for (kind, outcome, typ, site), entry in ordered[:args.sites]:
            r = entry["result"]
            part = next((r[p] for p in ("api", "cli") if r.get(p, {}).get("outcome") == outcome),
                        r)
            print(f"- [{outcome}] {kind}: {typ} at {site or part.get('deepest') or '?'} "
                  f"x{entry['count']}")
            if part.get("deepest") and part.get("deepest") != site:
                print(f"    deepest frame: {part['deepest']}")
            if part.get("message"):
                print(f"    message: {part['message'][:240]!s}".replace("\n", " "))
            print(f"    repro: {mutation.repro_command(kind, entry['ops'])}")
        if len(ordered) > args.sites:
            print(f"... and {len(ordered) - args.sites} more")
        if args.json:
            args.json.write_text(json.dumps({"info": info, "cases": records}, default=str))
            print(f"every case: {args.json}")
    return 0


def _table(tally: dict, title: str) -> str:
    cols = fz.OUTCOMES
    lines = [title, f"{'kind':20s} {'cases':>5s} " + " ".join(f"{c:>9s}" for c in cols)]
    total = Counter()
    for kind, c in tally.items():
        total.update(c)
        lines.append(f"{kind:20s} {sum(c.values()):5d} " + " ".join(f"{c[o]:9d}" for o in cols))
    lines.append(f"{'total':20s} {sum(total.values()):5d} "
                 + " ".join(f"{total[o]:9d}" for o in cols))
    return "\n".join(lines)


def _repro(server: fz.FuzzServer, tmp: Path, args) -> int:
    kind, ops = args.repro[0], mutation.ops_from_json(args.repro[1])
    valid = corpus.write_valid(kind, tmp / "valid")
    target = tmp / "case" / valid.name
    target.parent.mkdir(parents=True)
    target.write_bytes(mutation.apply(valid.read_bytes(), ops))
    result = server.run(target, timeout=args.timeout)
    print(fz.describe(result, kind, ops))
    real = fz.run_cli_subprocess(target, env=server.env, timeout=args.timeout)
    print(f"real CLI: {real['outcome']} (exit {real.get('returncode')})")
    if real.get("stderr"):
        print(real["stderr"])
    return 0 if result["outcome"] in fz.GOOD else 1


if __name__ == "__main__":
    sys.exit(main())
