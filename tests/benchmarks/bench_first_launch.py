"""Seconds from launching `python -m explorer --demo` to the window, to the first map and
to the first UMAP map, on a first (cold) and a second (warm) launch, under Xvfb.

Each run gets a new EXPLORER_HOME, so the app's numba cache (EXPLORER_HOME/numba-cache,
see explorer/compute/numba/setup.py; an inherited NUMBA_CACHE_DIR is dropped) starts
empty and the demo is built from scratch: the cold launch. With --home-from DIR the new
home is a copy of DIR without its numba cache (a demo already built there): that isolates
the compile wait from the demo's build. The warm launch is a second
one in the same home. The app writes its start-up timeline ($EXPLORER_TIMELINE, see
explorer/ui/timeline.py); times count from the app's process start. The screen is
grabbed at the first map (`import -window root`), then the app is stopped once the
kernels' warm-up is done (`kernels_ready`), so the warm launch follows a first session
that finished. Two variants run side by side, alternating: "new" (the compile worker
compiles in its own process while the map draws through numpy: explorer/compute/numba/
readiness.py) and "today" (EXPLORER_FAST_START=0: no worker, the kernels compile in the
app's process, as before). Figures are medians over the runs, with the load average, and
the number of numba compiles in the app's own process before its first map.

With --python PY the app is that interpreter's installed explorer (a new venv where
`pip install .` ran: the fresh install of issue 18), not this checkout.

    .venv/bin/python tests/benchmarks/bench_first_launch.py [--runs 3] [--out DIR]
        [--variants new,today] [--home-from DIR] [--python NEW_VENV/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from explorer.ui import timeline  # after the checkout is on the path

SCREEN = "1400x900x24"
FIGURES = (("window", "window_shown"), ("first map", "map_drawn"), ("UMAP map", "umap"),
           ("demo set", "demo_ready"), ("kernels", "kernels_ready"))
VARIANTS = {"new": "1", "today": "0"}  # EXPLORER_FAST_START


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def first(marks: list[dict], name: str) -> float | None:
    """Seconds from the process start to the first mark `name` ("umap": the first UMAP map)."""
    for m in marks:
        if (name == "umap" and m["name"] == "map_drawn" and m.get("method") == "umap") \
                or m["name"] == name:
            return float(m["t"])
    return None


def drive(spec: dict) -> None:
    """Inside xvfb-run: start the app, wait for its first map, grab the screen, stop it."""
    tl, shot = Path(spec["timeline"]), spec["shot"]
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(spec["env"], EXPLORER_TIMELINE=str(tl), QT_QPA_PLATFORM="xcb")
    with open(spec["log"], "w") as log:
        app = subprocess.Popen(spec["cmd"], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + spec["timeout"]
        result = {"shot": None, "timed_out": False}

        def wait_for(name: str) -> bool:
            while time.monotonic() < deadline and app.poll() is None:
                if first(timeline.read(tl), name) is not None:
                    return True
                time.sleep(0.2)
            return False
        if wait_for("map_drawn"):
            time.sleep(1.0)  # the image is shown; let it be painted before the grab
            if subprocess.run(["import", "-window", "root", shot], check=False).returncode == 0:
                result["shot"] = shot
            result["timed_out"] = not wait_for("kernels_ready")
        else:
            result["timed_out"] = True
        result["exit"] = app.poll()
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            try:
                app.wait(30)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
    Path(spec["result"]).write_text(json.dumps(result))


def launch(folder: Path, home: Path, phase: str, args: argparse.Namespace,
           variant: str = "new") -> dict:
    """One launch of the app under Xvfb; its marks, screenshot and the load around it."""
    # an installed explorer (--python) must not see this checkout on its path
    path = os.environ.get("PYTHONPATH", "") if args.python else \
        os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    spec = {"cmd": [str(args.python or sys.executable), "-m", "explorer", "--demo"],
            "env": {"EXPLORER_HOME": str(home), "EXPLORER_FAST_START": VARIANTS[variant],
                    "PYTHONPATH": path},
            "timeline": str(folder / f"{phase}.jsonl"), "shot": str(folder / f"{phase}.png"),
            "log": str(folder / f"{phase}.log"), "result": str(folder / f"{phase}.json"),
            "timeout": args.timeout}
    load_before = loadavg()
    subprocess.run(["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}", sys.executable, __file__,
                    "--drive", json.dumps(spec)], cwd=folder, check=False)
    result = json.loads(Path(spec["result"]).read_text()) \
        if Path(spec["result"]).exists() else {"shot": None, "timed_out": True}
    marks = timeline.read(spec["timeline"])
    figures = {label: first(marks, name) for label, name in FIGURES}
    drawn = first(marks, "map_drawn")
    compiles = [m for m in marks if m["name"] == "compile"
                and (drawn is None or m["t"] <= drawn)]
    mode = next((m.get("mode") for m in marks if m["name"] == "map_drawn"), None)
    return {"phase": phase, **figures, "shot": result["shot"], "timed_out": result["timed_out"],
            "load": f"{load_before} -> {loadavg()}", "mode": mode,
            "compiles_before_map": len(compiles),
            "compiled_here": sorted({m.get("kernel", "?") for m in marks
                                     if m["name"] == "compile"}),
            "numba_cache_files": len(list((home / "numba-cache").rglob("*.nbi")))}


def median(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "none"
    tail = "" if len(got) == len(values) else f" ({len(got)} of {len(values)})"
    return f"{statistics.median(got):7.2f} s{tail}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=900.0,
                   help="seconds to wait for the first map and the kernels' warm-up")
    p.add_argument("--out", type=Path, help="folder for homes, timelines and screenshots")
    p.add_argument("--drive", help=argparse.SUPPRESS)
    p.add_argument("--variants", default="new,today",
                   help="comma-separated, of: new (compile worker), today (EXPLORER_FAST_START=0)")
    p.add_argument("--home-from", type=Path,
                   help="copy this home (a demo already built) into each new home, without "
                        "its numba cache")
    p.add_argument("--python", type=Path,
                   help="run the explorer installed in this interpreter's environment (a new "
                        "venv) instead of this checkout")
    args = p.parse_args()
    if args.drive:
        drive(json.loads(args.drive))
        return
    variants = [v for v in args.variants.split(",") if v]
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-first-launch-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"first launch of the demo under Xvfb, {args.runs} run(s) of {variants}, files in {out}"
          + (f", explorer installed in {args.python}" if args.python else ""))
    runs = []
    for i in range(args.runs):
        for variant in variants:  # alternating, so both see the same machine
            folder = out / f"run-{i + 1}-{variant}"
            folder.mkdir()
            home = folder / "home"  # new: empty numba cache (no model, no demo either)
            if args.home_from:
                shutil.copytree(args.home_from, home,
                                ignore=shutil.ignore_patterns("numba-cache"))
            for phase in ("cold", "warm"):
                run = {"variant": variant, **launch(folder, home, phase, args, variant)}
                runs.append(run)
                print(json.dumps(run), flush=True)
    (out / "runs.json").write_text(json.dumps(runs, indent=1))
    print("\nmedians, seconds from process start ('today' = EXPLORER_FAST_START=0, same run)")
    print(f"{'variant':8} {'phase':6} " + " ".join(f"{label:>16}" for label, _ in FIGURES)
          + "  compiles before map")
    for variant in variants:
        for phase in ("cold", "warm"):
            rows = [r for r in runs if r["phase"] == phase and r["variant"] == variant]
            print(f"{variant:8} {phase:6} "
                  + " ".join(f"{median([r[label] for r in rows]):>16}" for label, _ in FIGURES)
                  + f"  {[r['compiles_before_map'] for r in rows]}")
    print("load average (1, 5, 15 min) before -> after each launch:")
    for r in runs:
        print(f"  {r['variant']:6} {r['phase']:5} {r['load']}  mode {r['mode']}  shot: {r['shot']}"
              + ("  TIMED OUT" if r["timed_out"] else ""))
    print("targets (issue 18): window and first map <= 3 s cold, a useful (UMAP) map <= 15 s")


if __name__ == "__main__":
    main()
