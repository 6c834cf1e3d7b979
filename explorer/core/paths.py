"""Where the app keeps its data and settings (XDG on Linux, EXPLORER_HOME overrides)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR = "embedding-explorer"


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / default


def data_home() -> Path:
    """Root of the library. EXPLORER_HOME wins, so tests and users can point elsewhere."""
    if os.environ.get("EXPLORER_HOME"):
        return Path(os.environ["EXPLORER_HOME"]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_DIR
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / APP_DIR
    return _xdg("XDG_DATA_HOME", ".local/share") / APP_DIR


def config_home() -> Path:
    if os.environ.get("EXPLORER_HOME"):
        return Path(os.environ["EXPLORER_HOME"]).expanduser() / "config"
    if sys.platform in ("darwin", "win32"):
        return data_home() / "config"
    return _xdg("XDG_CONFIG_HOME", ".config") / APP_DIR
