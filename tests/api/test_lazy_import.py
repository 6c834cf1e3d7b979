"""`import explorer` stays light, and the API never brings Qt into the caller's process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "pyarrow", "numba", "PySide6", "pyqtgraph", "shiboken6")


def run(code: str, home: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=False, timeout=600,
                         env=dict(os.environ, PYTHONPATH=str(REPO), EXPLORER_HOME=str(home)))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_explorer_loads_nothing_heavy(tmp_path):
    code = ("import json, sys, explorer; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert run(code, tmp_path) == []


def test_the_api_works_without_qt(tmp_path):
    code = f"""
import json, sys
import numpy as np
import explorer
from explorer import load
s = load(np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32))
hits = s.neighbours(row=1, k=3).rows.tolist()
xy = s.project("pca").shape
print(json.dumps({{"qt": [m for m in {HEAVY[3:]!r} if m in sys.modules], "hits": len(hits),
                  "xy": list(xy), "same": explorer.Set is type(s)}}))
"""
    assert run(code, tmp_path) == {"qt": [], "hits": 3, "xy": [300, 2], "same": True}


def test_unknown_names_are_still_attribute_errors():
    import explorer

    try:
        explorer.nothing_here  # noqa: B018
    except AttributeError as exc:
        assert "nothing_here" in str(exc)
    else:
        raise AssertionError("explorer.nothing_here did not raise")
    assert {"load", "show", "Set"} <= set(dir(explorer))
