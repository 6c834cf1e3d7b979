"""The README's Python API example runs as written (the app it starts quits once drawn)."""

from __future__ import annotations

import os
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SHOW = "app = explorer.show(s)"


def test_the_readme_example_runs(monkeypatch):
    text = README.read_text(encoding="utf-8")
    code = re.search(r"## Python API.*?```python\n(.*?)```", text, re.DOTALL).group(1)
    assert SHOW in code
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(README.parent),
                                                      os.environ.get("PYTHONPATH", "")]))
    code = code.replace(SHOW, SHOW[:-1] + ", args=['--quit-after-load'])")
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)  # noqa: S102 - our own README
    app = scope["app"]
    try:
        assert app.wait(300) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert scope["xy"].shape == (2000, 2) and len(scope["hits"]) == 5
    assert [m["name"] for m in scope["report"]["methods"]] == ["fp16", "sq8", "pq16"]
