"""Persistent UI settings (window layout, recent files) in an INI file under the config dir."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from explorer.core.paths import config_home

MAX_RECENT = 10


def settings() -> QSettings:
    path = config_home() / "settings.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(path), QSettings.Format.IniFormat)


def recent_files() -> list[str]:
    value = settings().value("recent_files", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in value or []]


def add_recent_file(path: str) -> list[str]:
    items = [path] + [p for p in recent_files() if p != path]
    items = items[:MAX_RECENT]
    s = settings()
    s.setValue("recent_files", items)
    s.sync()
    return items
