"""Locate files under the repository's `resources/` folder (icons, desktop file)."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def icon_path() -> Path:
    return RESOURCES / "icons" / "embedding-explorer.svg"
