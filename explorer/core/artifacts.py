"""Derived data of a library set (map coordinates, indexes ...), kept beside it.

Layout: `<set folder>/artifacts/<kind>/<key>.npy` holds the array and
`<key>.json` what it is (shape, dtype, the caller's meta). Both are written to a
temporary file and renamed into place; the meta file is removed before the
array is replaced and written after it, so a crash at any moment leaves either
a complete artefact or one that `load` does not report (never an array paired
with another array's meta). `load` memory-maps the array, so reopening a map of
10M points costs nothing, and it returns None for anything missing or damaged:
a cache must never stop the app, it only gets recomputed. Files other
libraries write (a faiss index) go through `save_file` / `load_file` the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from explorer.core.atomic import fsync_dir, write_json

ARTIFACTS_DIR = "artifacts"
FORMAT_VERSION = 1
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,159}$")


def check_name(name: str, what: str = "key") -> str:
    """Accept names that are one safe path component on every OS: letters, digits, `.`, `_`, `-`.

    They must start with a letter or digit (no hidden files, no `..`) and be at
    most 160 characters.
    """
    if not isinstance(name, str) or not _SAFE.match(name) or name.endswith("."):
        raise ValueError(f"artefact {what} {name!r} is not filesystem-safe "
                         "(use letters, digits, '.', '_', '-'; start with a letter or digit)")
    return name


def safe_key(text: str) -> str:
    """Turn any text into a valid key (runs of other characters become '-')."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")[:160].rstrip(".")
    return slug or "key"


class ArtifactStore:
    def __init__(self, set_folder: Path) -> None:
        self.set_folder = Path(set_folder)
        self.root = self.set_folder / ARTIFACTS_DIR

    def _paths(self, kind: str, key: str) -> tuple[Path, Path]:
        folder = self.root / check_name(kind, "kind")
        check_name(key)
        return folder / f"{key}.npy", folder / f"{key}.json"

    # --- writing -----------------------------------------------------------------
    def save(self, kind: str, key: str, array: np.ndarray, meta: dict | None = None) -> Path:
        """Store `array` (any numeric dtype, C order on disk) with JSON-serialisable `meta`."""
        npy, js = self._paths(kind, key)
        array = np.asarray(array)
        if array.dtype.hasobject:
            raise ValueError("object arrays cannot be stored as artefacts")
        record = {
            "format": FORMAT_VERSION,
            "shape": list(array.shape),
            "dtype": array.dtype.str,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "meta": meta or {},
        }
        # fail before touching anything if meta cannot be written
        json.dumps(record)
        npy.parent.mkdir(parents=True, exist_ok=True)
        js.unlink(missing_ok=True)  # from here until the end, the artefact is "absent"
        fd, tmp = tempfile.mkstemp(dir=npy.parent, prefix=f".{npy.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(array), allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, npy)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(npy.parent)
        write_json(js, record)
        return npy

    def save_file(self, kind: str, key: str, suffix: str, write: Callable[[str], None],
                  meta: dict | None = None) -> Path:
        """Store a file another library writes (`write(path)`, e.g. a faiss index) with `meta`.

        Same protocol as `save`: the meta goes first, the file is written beside
        its final name and renamed, the meta comes back last with the file's size.
        """
        _, js = self._paths(kind, key)
        target = js.with_name(f"{key}.{check_name(suffix, 'suffix')}")
        record = {"format": FORMAT_VERSION, "file": target.name,
                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "meta": meta or {}}
        json.dumps(record)
        target.parent.mkdir(parents=True, exist_ok=True)
        js.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        try:
            write(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)
        record["bytes"] = target.stat().st_size
        write_json(js, record)
        return target

    def load_file(self, kind: str, key: str) -> tuple[Path, dict] | None:
        """(path, meta) of a file stored with `save_file`, or None when absent or damaged."""
        try:
            _, js = self._paths(kind, key)
            with open(js, encoding="utf-8") as fh:
                record = json.load(fh)
            if not isinstance(record, dict) or record.get("format", 0) > FORMAT_VERSION:
                return None
            path = js.with_name(check_name(record["file"], "file"))
            if path.stat().st_size != record["bytes"] or not isinstance(record["meta"], dict):
                return None
            return path, record["meta"]
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def delete(self, kind: str, key: str) -> None:
        npy, js = self._paths(kind, key)
        other = None
        try:
            with open(js, encoding="utf-8") as fh:
                other = js.with_name(check_name(json.load(fh)["file"], "file"))
        except (OSError, ValueError, TypeError, KeyError):
            pass  # no file of another library recorded
        js.unlink(missing_ok=True)
        npy.unlink(missing_ok=True)
        if other is not None:
            other.unlink(missing_ok=True)

    def clear(self, kind: str | None = None) -> None:
        """Remove every artefact of `kind` (all kinds when None)."""
        target = self.root if kind is None else self.root / check_name(kind, "kind")
        shutil.rmtree(target, ignore_errors=True)

    # --- reading -----------------------------------------------------------------
    def load(self, kind: str, key: str) -> tuple[np.ndarray, dict] | None:
        """(read-only memory-mapped array, meta) or None when absent or damaged."""
        try:
            npy, js = self._paths(kind, key)
        except ValueError:
            return None
        try:
            with open(js, encoding="utf-8") as fh:
                record = json.load(fh)
            if not isinstance(record, dict) or record.get("format", 0) > FORMAT_VERSION:
                return None
            array = np.load(npy, mmap_mode="r", allow_pickle=False)
            if list(array.shape) != list(record["shape"]) or array.dtype.str != record["dtype"]:
                return None
            meta = record.get("meta") or {}
            if not isinstance(meta, dict):
                return None
            return array, meta
        except (OSError, ValueError, TypeError, KeyError, EOFError):
            return None

    def keys(self, kind: str) -> list[str]:
        """Keys of complete artefacts of `kind` (array and meta both present), sorted."""
        try:
            folder = self.root / check_name(kind, "kind")
            names = os.listdir(folder)
        except (OSError, ValueError):
            return []
        present = set(names)
        out = []
        for name in names:
            if name.endswith(".json") and not name.startswith("."):
                key = name[:-5]
                if _SAFE.match(key) and (f"{key}.npy" in present
                                         or self.load_file(kind, key) is not None):
                    out.append(key)
        return sorted(out)

    def kinds(self) -> list[str]:
        try:
            return sorted(p.name for p in self.root.iterdir()
                          if p.is_dir() and _SAFE.match(p.name))
        except OSError:
            return []


__all__ = ["ArtifactStore", "check_name", "safe_key"]
