"""explorer.plugins.api: every name it promises resolves, a declaration stays cheap to import,
and the example plugins import nothing else of the app."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.plugins import api

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def test_every_promised_name_resolves():
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    assert sorted(dir(api)) == sorted(api.__all__)


HEAVY = ('numba', 'explorer.compute', 'faiss', 'PySide6', 'pyqtgraph', 'explorer.ui')


@pytest.mark.parametrize("imports", [
    "from explorer.plugins.api import Contribution, TaskState, InputError",
    "import explorer_vector_stats",  # a panel plugin's declaration
])
def test_a_declaration_imports_no_numerics_and_no_qt(imports):
    if imports.startswith("import ") and importlib.util.find_spec(imports.split()[1]) is None:
        pytest.skip("the plugin is not installed")
    code = (f"import sys; {imports};"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules];"
            "sys.exit(', '.join(heavy) or None)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, timeout=120)
    assert run.returncode == 0, run.stderr


def test_the_example_plugins_use_only_the_api():
    imports = {}
    for path in sorted(PLUGINS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name == "explorer" or name.startswith("explorer."):
                    imports.setdefault(name, []).append(path.relative_to(PLUGINS).as_posix())
    assert imports and set(imports) == {"explorer.plugins.api"}, imports
