"""The shape explorer.compute, explorer.core and the plugins keep (DESIGN.md, "The house
today"): no module over 700 lines, and no underscore name used across modules (what another
module needs is public, or moved to it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = [ROOT / "explorer" / "compute", ROOT / "explorer" / "core", ROOT / "explorer" / "plugins",
           ROOT / "plugins"]
MAX_LINES = 700


def _modules() -> list[Path]:
    return sorted(p for folder in CHECKED for p in folder.rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@pytest.mark.parametrize("folder", CHECKED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_over_the_limit(folder):
    long = {p.relative_to(ROOT).as_posix(): n for p in folder.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_no_underscore_name_crosses_a_module():
    found = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        ours: set[str] = set()  # names bound to explorer modules in this file
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("explorer"):
                found += [f"{path.relative_to(ROOT)}:{node.lineno} imports {a.name}"
                          for a in node.names if _private(a.name)]
                ours |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.Import):
                ours |= {(a.asname or a.name).split(".")[0] for a in node.names
                         if a.name.startswith("explorer")}
        found += [f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}"
                  for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and _private(node.attr)
                  and isinstance(node.value, ast.Name) and node.value.id in ours]
    assert found == []
