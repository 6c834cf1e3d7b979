"""Derived data of a library set (map coordinates, indexes ...), kept beside it.

Layout: `<set folder>/artifacts/<kind>/<key>.npy` holds the array and
`<key>.json` what it is (shape, dtype, a checksum of the data, the caller's
meta). Both are written to a temporary file and renamed into place; the meta
file is removed before the array is replaced and written after it, so a crash
at any moment leaves either a complete artefact or one that `load` does not
report (never an array paired with another array's meta). `load` memory-maps
the array, so reopening a map of 10M points costs nothing, and it returns None
for anything missing or damaged: a cache must never stop the app, it only gets
recomputed. A damaged artefact (its bytes no longer match the checksum) is
deleted, never used; when the file is provably the one that was hashed (its
`FileStamp`, see core/checksum.py) it is not hashed again. Files other
libraries write (a faiss index) go through `save_file` / `load_file` the same way.

The record's format stays 1: the checksum and stamp are added keys, so older
versions still read these artefacts, and records they write (without a
checksum) are hashed on their first load here and kept from then on.
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
from explorer.core.checksum import ALGORITHM, Checksum, FileStamp
from explorer.core.npy_files import map_checked

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


class Damaged(Exception):
    """An artefact whose files disagree with its record: deleted by `load`, never used."""


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
        array = np.ascontiguousarray(array)
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
        record["checksum"] = Checksum.of_array(array).to_dict()
        npy.parent.mkdir(parents=True, exist_ok=True)
        js.unlink(missing_ok=True)  # from here until the end, the artefact is "absent"
        fd, tmp = tempfile.mkstemp(dir=npy.parent, prefix=f".{npy.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.lib.format.write_array(fh, array, allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, npy)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(npy.parent)
        self._write_record(js, record, npy)
        return npy

    def save_file(self, kind: str, key: str, suffix: str, write: Callable[[str], None],
                  meta: dict | None = None) -> Path:
        """Store a file another library writes (`write(path)`, e.g. a faiss index) with `meta`.

        Same protocol as `save`: the meta goes first, the file is written beside
        its final name and renamed, the meta comes back last with the file's
        size and checksum.
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
            checksum = Checksum.of_file(Path(tmp))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)
        record["bytes"] = checksum.bytes
        record["checksum"] = checksum.to_dict()
        self._write_record(js, record, target)
        return target

    @staticmethod
    def _write_record(js: Path, record: dict, data: Path) -> None:
        """The record goes last, stamped with the data file as it is now; without it, no data."""
        try:
            record["verified"] = FileStamp.of(os.stat(data)).to_dict()
            write_json(js, record)
        except BaseException:
            data.unlink(missing_ok=True)  # a full disk must not leave an array nobody lists
            raise

    def load_file(self, kind: str, key: str) -> tuple[Path, dict] | None:
        """(path, meta) of a file stored with `save_file`, or None when absent or damaged."""
        found = self._read(kind, key)
        if found is None or isinstance(found[0], Path):
            return found
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
        found = self._read(kind, key)
        if found is None or isinstance(found[0], np.ndarray):
            return found
        return None

    def problem(self, kind: str, key: str) -> str | None:
        """What is wrong with an artefact, without deleting it; None when intact or absent.

        What `gc` reports (and, unless it only looks, deletes). A record written
        by a newer version, or one this process may not read, is not a problem.
        """
        try:
            npy, js = self._paths(kind, key)
            text = js.read_bytes()
        except (OSError, ValueError):
            return None
        try:
            self._examine(npy, js, text)
        except PermissionError:
            return None
        except Damaged as exc:
            return str(exc) or "its data does not match its record"
        except FileNotFoundError:
            return "its data file is missing"
        except (OSError, ValueError, TypeError, KeyError, EOFError) as exc:
            return f"its record or data cannot be read ({exc})"
        return None

    def _read(self, kind: str, key: str) -> tuple[np.ndarray | Path, dict] | None:
        """(memory-mapped array or file path, meta); None if absent, newer or damaged (deleted)."""
        try:
            npy, js = self._paths(kind, key)
            text = js.read_bytes()
        except (OSError, ValueError):
            return None
        try:
            return self._examine(npy, js, text)
        except PermissionError:
            return None  # not ours to read: no sign of damage
        except (Damaged, OSError, ValueError, TypeError, KeyError, EOFError):
            self._drop(kind, key, js, text)
            return None

    def _examine(self, npy: Path, js: Path, text: bytes) -> tuple[np.ndarray | Path, dict] | None:
        """The artefact's data and meta if it is what was saved; None when a newer version wrote
        it; Damaged (or the OSError met) otherwise."""
        record = _parse_record(text)
        if record is None:
            return None
        meta = record.get("meta") or {}
        if not isinstance(meta, dict):
            raise Damaged("its record is not readable")
        if "file" in record:  # written by another library through save_file
            path = js.with_name(check_name(record["file"], "file"))
            st = os.stat(path)
            if st.st_size != record["bytes"]:
                raise Damaged(f"its file holds {st.st_size:,} bytes, not {record['bytes']:,}")
            self._verify(js, text, record, st, lambda algorithm: Checksum.of_file(path, algorithm))
            return path, record["meta"]
        array, st = map_checked(npy)
        if list(array.shape) != list(record["shape"]) or array.dtype.str != record["dtype"]:
            raise Damaged("its array's shape or type differs from its record")
        self._verify(js, text, record, st, lambda algorithm: Checksum.of_array(array, algorithm))
        return array, meta

    @staticmethod
    def _verify(js: Path, text: bytes, record: dict, st: os.stat_result,
                digest: Callable[[str], Checksum]) -> None:
        """Raise Damaged unless the data is what was saved; hash only when it may have changed.

        A record without a checksum (written by an older version) is hashed now
        and kept from here on: what it holds is trusted once, on this load.
        """
        stamp = FileStamp.of(st)
        stored = record.get("checksum")
        if stored is not None:
            expected = Checksum.from_dict(stored)
            if FileStamp.from_dict(record.get("verified")) == stamp:
                return
            if digest(expected.algorithm) != expected:
                raise Damaged("its data does not match its checksum")
        else:
            record["checksum"] = digest(ALGORITHM).to_dict()
        record["verified"] = stamp.to_dict()
        try:  # hashed once per change of the file, not per load
            if js.read_bytes() == text:  # not if a save replaced the artefact meanwhile
                write_json(js, record)
        except OSError:
            pass  # a read-only library: hashed again next time, still never trusted blindly

    def _drop(self, kind: str, key: str, js: Path, text: bytes) -> None:
        """Delete a damaged artefact, unless it was replaced while we looked (a save racing)."""
        try:
            if js.read_bytes() == text:
                self.delete(kind, key)
        except OSError:
            pass

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

    def recorded(self, kind: str) -> list[str]:
        """Keys of `kind` that have a record, intact or not (`keys` lists only intact ones)."""
        try:
            names = os.listdir(self.root / check_name(kind, "kind"))
        except (OSError, ValueError):
            return []
        return sorted(name[:-5] for name in names
                      if name.endswith(".json") and _SAFE.match(name[:-5]))

    def meta(self, kind: str, key: str) -> dict | None:
        """The meta an artefact was saved with, from its record alone (its data is not read)."""
        try:
            record = _parse_record(self._paths(kind, key)[1].read_bytes())
        except (OSError, ValueError):
            return None
        meta = None if record is None else record.get("meta")
        return meta if isinstance(meta, dict) else None

    def strays(self, kind: str) -> list[Path]:
        """Files of `kind` no record owns: temporary files of saves that never finished,
        data whose record is gone. One may belong to a save running now; the caller decides
        by age. Every file named after a record written by a newer version is kept."""
        try:
            folder = self.root / check_name(kind, "kind")
            names = os.listdir(folder)
        except (OSError, ValueError):
            return []
        owned, newer = set(), set()
        for name in names:
            if not name.endswith(".json") or name.startswith("."):
                continue
            key = name[:-5]
            owned.update((name, f"{key}.npy"))
            try:
                record = _parse_record((folder / name).read_bytes())
            except (OSError, ValueError):
                continue  # a damaged record: `problem` names it, `delete` removes its files
            if record is None:
                newer.add(key)
            elif isinstance(record.get("file"), str):
                owned.add(record["file"])
        return sorted(folder / name for name in names
                      if name not in owned and (folder / name).is_file()
                      and not any(name.startswith(f"{key}.") for key in newer))

    def kinds(self) -> list[str]:
        try:
            return sorted(p.name for p in self.root.iterdir()
                          if p.is_dir() and _SAFE.match(p.name))
        except OSError:
            return []


def _parse_record(text: bytes) -> dict | None:
    """The record; None when a newer version wrote it (left alone); ValueError when damaged."""
    record = json.loads(text)
    if not isinstance(record, dict) or not isinstance(record.get("format", 0), int):
        raise ValueError("not an artefact record")
    return None if record.get("format", 0) > FORMAT_VERSION else record


__all__ = ["ArtifactStore", "check_name", "safe_key"]
