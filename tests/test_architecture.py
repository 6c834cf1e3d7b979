"""The import-linter contracts in pyproject.toml hold (layers, Qt-free core/compute, panels
independent of each other).

Each contract is its own test, so one that breaks names itself and prints the import chains
that break it, and the others still say they hold. The linter runs with this interpreter in a
subprocess, like `lint-imports` by hand.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONTRACTS = [c["id"] for c in
             tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]]


def test_the_contracts_asked_for_are_there() -> None:
    assert {"layers", "qt-free", "panels"} <= set(CONTRACTS)


@pytest.mark.parametrize("contract", CONTRACTS)
def test_contract_is_kept(contract: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         "--no-cache", "--no-logo", "--contract", contract, str(PYPROJECT)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
