"""Shared fixtures: every test gets its own library and settings, and Qt runs offscreen."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def explorer_home(tmp_path, monkeypatch):
    """Point the library and settings at a fresh folder so tests never see the user's data."""
    home = tmp_path / "explorer-home"
    monkeypatch.setenv("EXPLORER_HOME", str(home))
    return home
