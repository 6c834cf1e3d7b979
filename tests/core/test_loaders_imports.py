"""The loaders are headless: importing and using them pulls in no Qt and no UI code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import explorer.core.loaders as loaders

SCRIPT = """
import sys
import numpy as np
from explorer.core.checks import check_set
from explorer.core.loaders import open_file
np.save(sys.argv[1], np.eye(3, dtype=np.float32))
check_set(open_file(sys.argv[1]))
gui = sorted(m for m in sys.modules
             if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")
             or m.startswith("explorer.ui"))
print(",".join(gui))
"""


def test_loaders_import_no_qt(tmp_path):
    root = Path(loaders.__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "v.npy")], cwd=root,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_loader_sources_mention_no_qt():
    folder = Path(loaders.__file__).parent
    for source in [*folder.glob("*.py"), folder.parent / "checks.py",
                   folder.parent / "vector_checks.py"]:
        text = source.read_text()
        for name in ("PySide6", "PyQt", "pyqtgraph", "explorer.ui", "QtCore"):
            assert name not in text, f"{source.name} mentions {name}"
