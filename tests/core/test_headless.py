"""explorer.core and explorer.compute must never load Qt (checked in a clean interpreter)."""

import json
import subprocess
import sys

CODE = r"""
import importlib, json, pkgutil, sys
loaded = []
for pkg in ("explorer.core", "explorer.compute"):
    m = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(m.__path__, pkg + "."):
        importlib.import_module(info.name)
        loaded.append(info.name)
qt = sorted(n for n in sys.modules if n.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6"))
print(json.dumps({"modules": loaded, "qt": qt}))
"""


def test_core_and_compute_import_no_qt():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "explorer.core.library" in result["modules"]
    assert "explorer.core.loaders.tables" in result["modules"]
    assert result["qt"] == []


def test_cli_import_does_not_load_qt():
    code = "import sys, explorer.cli; print(any(n.startswith('PySide6') for n in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
