"""Session files: the app's whole working state in a small, versioned JSON file.

A session names its set by library id (with its name, shape and source, to
recognise a re-import and to say what is missing), never by a path to its data.
The selection is stored as row ranges, or as a compressed bitmap when it is
scattered, so a million selected rows cost kilobytes. Each panel's settings are a
plain dict under its key in `panels`, which the panel writes and reads back itself
(format 1 kept them at the top level; such files still open). Fields this version
does not know are kept and written back, so an older app neither fails on nor
destroys what a newer one saved. A session file is untrusted: a damaged field of
the file itself is an `InputError` naming it, a damaged panel entry only a warning.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from explorer import __version__
from explorer.core.atomic import write_json
from explorer.core.errors import InputError
from explorer.core.library import Library, LibraryEntry

FORMAT = "embedding-explorer-session"
SCHEMA_VERSION = 2
SUFFIX = ".eesession"
MAX_RANGES = 64  # beyond this many runs a compressed bitmap is smaller (the file is indented)
MAX_KEY_CHARS = 64  # a panel key longer than this is no panel's
FORMAT_1_PANELS = ("map", "neighbours", "concepts", "compression", "table")  # top-level then
KNOWN = {"format", "schema_version", "app_version", "saved", "set", "selection", "current",
         "window", "panels"}
EMPTY = np.zeros(0, dtype=np.int64)


def is_session_path(path: str | Path) -> bool:
    return str(path).lower().endswith(SUFFIX)


@dataclass
class SetRef:
    """Which library set the session looked at, and enough to tell it is still the same one."""

    id: str
    name: str
    count: int
    dim: int
    source: list[str] = field(default_factory=list)


@dataclass
class Session:
    set: SetRef | None = None
    selection: np.ndarray = field(default_factory=lambda: EMPTY)  # sorted unique rows
    current: int = -1
    panels: dict[str, dict] = field(default_factory=dict)  # panel key -> its settings()
    window_geometry: bytes = b""  # QMainWindow.saveGeometry()
    window_state: bytes = b""  # QMainWindow.saveState(): docks and toolbars
    schema_version: int = SCHEMA_VERSION
    app_version: str = __version__
    saved: str = ""
    extra: dict = field(default_factory=dict)  # fields of a newer version, written back as read
    warnings: list[str] = field(default_factory=list)  # found while reading; never written

    def to_dict(self) -> dict:
        data: dict[str, Any] = dict(self.extra)
        data.update(
            format=FORMAT, schema_version=SCHEMA_VERSION, app_version=__version__,
            saved=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            set=asdict(self.set) if self.set is not None else None,
            selection=encode_rows(self.selection), current=int(self.current),
            window={"geometry": _b64(self.window_geometry), "state": _b64(self.window_state)},
            panels=self.panels)
        return data

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        try:
            write_json(path, self.to_dict())
        except OSError as exc:
            raise InputError(f"cannot write the session ({exc.strerror or exc})",
                             path=path) from None
        return path

    @classmethod
    def from_dict(cls, data: Any, path: str | Path | None = None) -> Session:
        return _Reader(path).session(data)

    @classmethod
    def load(cls, path: str | Path) -> Session:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("no such session file", path=path) from None
        except IsADirectoryError:
            raise InputError("is a folder, not a session file", path=path) from None
        except UnicodeDecodeError:
            raise InputError("is not a session file (not UTF-8 text)", path=path) from None
        except OSError as exc:
            raise InputError(f"cannot read the session ({exc.strerror or exc})",
                             path=path) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"is not a valid session file: broken JSON ({exc.msg})", path=path,
                             line=exc.lineno) from None
        except RecursionError:
            raise InputError("is not a valid session file: its JSON is nested too deeply",
                             path=path) from None
        return cls.from_dict(data, path)


# --- the selection ------------------------------------------------------------------------

def encode_rows(rows: np.ndarray) -> dict:
    """Sorted unique rows as [start, stop) ranges, or a zlib bitmap when there are many runs."""
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return {"count": 0, "ranges": []}
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = rows[np.concatenate([[0], breaks])]
    stops = rows[np.concatenate([breaks - 1, [len(rows) - 1]])] + 1
    if len(starts) <= MAX_RANGES:
        return {"count": len(rows), "ranges": np.column_stack([starts, stops]).tolist()}
    length = int(rows[-1]) + 1
    bits = np.zeros(length, dtype=bool)
    bits[rows] = True
    return {"count": len(rows), "length": length,
            "bitmap": _b64(zlib.compress(np.packbits(bits).tobytes()))}


def decode_rows(data: dict) -> np.ndarray:
    """The inverse of `encode_rows`; ValueError says what is wrong."""
    count = data.get("count")
    if not _is_int(count) or count < 0:
        raise ValueError("'count' should be a whole number")
    if "ranges" in data:
        ranges = data["ranges"]
        if not isinstance(ranges, list) or not all(
                isinstance(r, list) and len(r) == 2 and all(_is_int(v) for v in r) for r in ranges):
            raise ValueError("'ranges' should be a list of [start, stop] pairs")
        pairs = np.asarray(ranges, dtype=np.int64).reshape(-1, 2)
        if len(pairs) and ((pairs[:, 0] < 0).any() or (pairs[:, 1] <= pairs[:, 0]).any()
                           or (pairs[1:, 0] <= pairs[:-1, 1]).any()):
            raise ValueError("'ranges' should be increasing, non-empty and apart")
        rows = np.concatenate([np.arange(a, b) for a, b in pairs]) if len(pairs) else EMPTY
    elif "bitmap" in data:
        length = data.get("length")
        if not _is_int(length) or length < 0:
            raise ValueError("'length' should be a whole number")
        nbytes = (length + 7) // 8
        try:
            unzip = zlib.decompressobj()
            packed = unzip.decompress(base64.b64decode(data["bitmap"], validate=True), nbytes + 1)
        except (binascii.Error, zlib.error, TypeError, ValueError):
            raise ValueError("'bitmap' is not valid base64 zlib data") from None
        if len(packed) != nbytes:
            raise ValueError(f"'bitmap' holds {len(packed)} bytes for {length} rows")
        bits = np.unpackbits(np.frombuffer(packed, dtype=np.uint8), count=length)
        rows = np.flatnonzero(bits).astype(np.int64)
    else:
        raise ValueError("it has neither 'ranges' nor 'bitmap'")
    if len(rows) != count:
        raise ValueError(f"it holds {len(rows)} rows but says 'count' {count}")
    return rows


# --- finding the set ----------------------------------------------------------------------

def find_set(library: Library, ref: SetRef) -> tuple[LibraryEntry | None, str | None]:
    """The library set the session names, or None and a sentence saying why it is not there.

    The id is tried first; a set removed and imported again from the same,
    unchanged file is found by its source's fingerprint.
    """
    entries = {e.id: e for e in library.entries()}
    same = entries.get(ref.id)
    if same is None and ref.source:
        same = library.find_by_fingerprint(ref.source[0])
    if same is not None and (same.count, same.dim) == (ref.count, ref.dim):
        return same, None
    if same is not None:
        return None, (f"the library set “{same.name}” ({same.id}) now holds {same.count:,} × "
                      f"{same.dim} vectors, not the session's {ref.count:,} × {ref.dim}, so the "
                      "session's set, selection and map were not restored")
    where = f"; it came from {ref.source[0]}, which can be opened to import it again" \
        if ref.source and Path(ref.source[0]).exists() else ""
    return None, (f"the set “{ref.name}” ({ref.id}) is no longer in the library, so its "
                  f"selection and map were not restored{where}")


# --- reading ------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Reader:
    """Checks each known field, so a damaged file says which field is wrong and how."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = path

    def fail(self, message: str, hint: str | None = None) -> InputError:
        return InputError(message, path=self.path, hint=hint)

    def session(self, data: Any) -> Session:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise self.fail("is not an Embedding Explorer session file",
                            hint=f"sessions are saved by File ▸ Save Session… as *{SUFFIX}")
        version = data.get("schema_version")
        if not _is_int(version) or version < 1:
            raise self.fail(f"has no valid 'schema_version' (found {version!r})")
        warnings = []
        if version > SCHEMA_VERSION:
            warnings.append(f"the session was saved by a newer Embedding Explorer (session "
                            f"format {version}; this version reads format {SCHEMA_VERSION}), "
                            "so anything new in it is ignored")
        ref = self.set_ref(data.get("set"))
        selection = self.selection(data.get("selection", {"count": 0, "ranges": []}), ref)
        current = data.get("current", -1)
        if not _is_int(current) or current < -1 or (ref is not None and current >= ref.count):
            raise self.fail(f"field 'current' should be a row of the set or -1, not {current!r}")
        window = self.object(data, "window")
        known = KNOWN | (set(FORMAT_1_PANELS) if version == 1 else set())
        return Session(
            set=ref, selection=selection, current=current,
            panels=self.panels(data, version, warnings),
            window_geometry=self.blob(window, "geometry"), window_state=self.blob(window, "state"),
            schema_version=version, app_version=str(data.get("app_version", ""))[:100],
            saved=str(data.get("saved", ""))[:100], warnings=warnings,
            extra={k: v for k, v in data.items() if k not in known})

    def panels(self, data: dict, version: int, warnings: list[str]) -> dict[str, dict]:
        """Each panel's settings by key; format 1 kept them at the top level. An entry that
        is not an object is left out with a warning: the rest of the session still opens."""
        if version == 1:
            found = {name: data[name] for name in FORMAT_1_PANELS if name in data}
        else:
            found = data.get("panels", {})
            if not isinstance(found, dict):
                warnings.append(f"field 'panels' should be an object, not "
                                f"{type(found).__name__}, so no panel settings were restored")
                return {}
        panels = {}
        for key, value in found.items():
            shown = key if len(key) <= MAX_KEY_CHARS else key[:MAX_KEY_CHARS] + "…"
            if len(key) > MAX_KEY_CHARS:
                warnings.append(f"the settings of a panel named {shown!r} were left out: no "
                                "panel has such a long name")
            elif not isinstance(value, dict):
                warnings.append(f"the settings of the {key!r} panel should be an object, not "
                                f"{type(value).__name__}, so they were not restored")
            else:
                panels[key] = value
        return panels

    def object(self, data: dict, key: str) -> dict:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"field '{key}' should be an object, not {type(value).__name__}")
        return value

    def blob(self, data: dict, key: str) -> bytes:
        value = data.get(key, "")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise self.fail(f"field 'window.{key}' is not valid base64") from None

    def set_ref(self, value: Any) -> SetRef | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail("field 'set' should be an object or null")
        ok = (isinstance(value.get("id"), str) and isinstance(value.get("name", ""), str)
              and _is_int(value.get("count")) and value["count"] >= 0
              and _is_int(value.get("dim")) and value["dim"] > 0
              and isinstance(value.get("source", []), list)
              and all(isinstance(s, str) for s in value.get("source", [])))
        if not ok:
            raise self.fail("field 'set' should hold 'id' and 'name' (text), 'count' and 'dim' "
                            "(whole numbers) and 'source' (a list of paths)")
        return SetRef(value["id"], value.get("name", value["id"]), value["count"], value["dim"],
                      list(value.get("source", [])))

    def selection(self, value: Any, ref: SetRef | None) -> np.ndarray:
        if not isinstance(value, dict):
            raise self.fail("field 'selection' should be an object")
        try:
            rows = decode_rows(value)
        except ValueError as exc:
            raise self.fail(f"field 'selection' is damaged: {exc}") from None
        if len(rows) and (ref is None or rows[-1] >= ref.count):
            limit = f"the set has {ref.count:,} rows" if ref is not None else "no set is named"
            raise self.fail(f"field 'selection' names row {int(rows[-1]):,} but {limit}")
        return rows
