"""What a library set's manifest.json holds, read strictly.

A damaged manifest must be reported, never half-believed: every field is
checked against the type LibraryEntry declares before a set is listed or
opened, so a wrong metric or a count written as text is named here instead of
surfacing later as a traceback. Unknown keys are ignored (a newer minor
version may add some); a higher schema_version is refused by name.

Fields added since schema 1 are optional, so older versions still read these
manifests: `import_options` (how a file was read, see core/import_options.py) and
`replaces` (the set a `--replace` import swaps out, hidden from the moment the new
one is in place until it is deleted), `model_check` (whether `model` was checked
against the vectors, see core/model_check.py), `label_column` (what items are
called in lists; None: the id column, else the text column) and `attached_metadata`
(a metadata file joined to the stored set later, see core/metadata_attach.py) and
`image_source` (the column its images are in, see compute/thumbnails: {"column", "kind",
"root"}, the root relative to the set's data file where it can be).

Schema 2 adds the sharded layout (`layout: "sharded"`, `shards`: each shard file's path, rows,
size, mtime_ns and footer digest, see core/sharded.py): the vectors stay in the user's files
and there is no vectors.npy. Only such manifests are written as schema 2, so an older version
refuses them by name ("written by a newer version") while still reading every other set.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from explorer.core.embedding_set import METRICS
from explorer.core.model_check import ModelCheck
from explorer.core.sharded import Shard

SCHEMA_VERSION = 2  # the newest this version reads
SINGLE_SCHEMA = 1  # what a set in one vectors.npy is written as: older versions read it
SHARDED_SCHEMA = 2
LAYOUTS = ("single", "sharded")
MANIFEST = "manifest.json"
TRANSIENT = ("path", "reused")  # LibraryEntry fields that are not written to the manifest


@dataclass
class LibraryEntry:
    """What manifest.json holds; also what `list` and `import` print."""

    id: str
    name: str
    count: int
    dim: int
    dtype: str
    metric: str
    created: str
    source: list[str]
    format: str
    schema_version: int = SINGLE_SCHEMA
    model: str | None = None
    vector_column: str | None = None
    id_column: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    columns: list[str] = field(default_factory=list)
    nan_rows_dropped: int = 0
    zero_rows: int = 0
    zero_rows_dropped: int = 0
    duplicate_ids: int = 0
    notes: list[str] = field(default_factory=list)
    fingerprint: dict | None = None  # source size/mtime, to recognise a re-import
    import_options: dict | None = None  # how the file was read; None: made by the app
    replaces: dict | None = None  # {"id", "created"} of the set this one was imported over
    model_check: dict | None = None  # ModelCheck.to_manifest(); None: made here, or not checked
    attached_metadata: dict | None = None  # a metadata file joined later (core/metadata_attach.py)
    image_source: dict | None = None  # the column holding its images (compute/thumbnails)
    layout: str = "single"  # "sharded": the vectors stay in `shards`, the user's files
    shards: list[dict] | None = None  # Shard.to_manifest() of each, in row order
    path: str = ""  # where the set is, not what its manifest says
    reused: bool = False  # an import answered with this stored set instead of a new copy

    @property
    def check(self) -> ModelCheck | None:
        """The model check this manifest records (it was validated when the manifest was read)."""
        return None if self.model_check is None else ModelCheck.from_manifest(self.model_check)

    @property
    def own_sources(self) -> list[str]:
        """The files the set was read from at import: `source` without a metadata file
        attached later (the last entry of `source`), which is not part of what an import
        of the same file would store, so it does not stop the set being reused for it."""
        attached = (self.attached_metadata or {}).get("path")
        if attached and len(self.source) > 1 and self.source[-1] == attached:
            return self.source[:-1]
        return list(self.source)

    @property
    def sharded(self) -> bool:
        return self.layout == "sharded"

    def shard_records(self) -> list[Shard]:
        """The shards of a sharded set (validated when the manifest was read)."""
        return [Shard.from_manifest(s) for s in self.shards or []]

    @property
    def bytes(self) -> int:
        return self.count * self.dim * 4

    def describe(self) -> str:
        """One line telling this set from others of the same name: id, source, date."""
        source = self.source[0] if self.source else "no file"
        return f"{self.id} (from {source}, imported {self.created[:16].replace('T', ' ')} UTC)"

    def to_dict(self) -> dict:
        return asdict(self)

    def manifest(self) -> dict:
        """What goes into manifest.json."""
        data = self.to_dict()
        for name in TRANSIENT:
            data.pop(name)
        return data

    @classmethod
    def from_manifest(cls, data: object, folder: Path) -> LibraryEntry:
        """The entry of the set in `folder`; ValueError naming the first thing that is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"{MANIFEST} does not hold an object")
        version = data.get("schema_version", 0)
        if _is_a(version, int) and version > SCHEMA_VERSION:
            raise ValueError(f"{MANIFEST} was written by a newer version of Embedding Explorer "
                             f"(schema {version}; this one reads {SCHEMA_VERSION})")
        hints = typing.get_type_hints(cls)
        values = {}
        for f in fields(cls):
            if f.name in TRANSIENT:
                continue
            if f.name not in data:
                if f.default is MISSING and f.default_factory is MISSING:
                    raise ValueError(f"{MANIFEST} has no {f.name!r}")
                continue
            value = data[f.name]
            if not _is_a(value, hints[f.name]):
                raise ValueError(f"{MANIFEST}: {f.name!r} is {_short(value)}, "
                                 f"not {_describe(hints[f.name])}")
            values[f.name] = value
        entry = cls(**values, path=str(folder))
        if entry.count < 1 or entry.dim < 1:
            raise ValueError(f"{MANIFEST} declares {entry.count} x {entry.dim} vectors")
        if entry.metric not in METRICS:
            raise ValueError(f"{MANIFEST}: unknown metric {entry.metric!r} "
                             f"(expected one of {', '.join(METRICS)})")
        if entry.model_check is not None:
            try:
                ModelCheck.from_manifest(entry.model_check)
            except ValueError as exc:
                raise ValueError(f"{MANIFEST}: {exc}") from None
        _check_layout(entry)
        return entry


@dataclass
class DamagedSet:
    """A folder of the library that cannot be opened, and why; listed so it can be removed."""

    id: str  # the folder's name
    path: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def _check_layout(entry: LibraryEntry) -> None:
    """A sharded manifest must list its shards, adding up to its count, under schema 2."""
    if entry.layout not in LAYOUTS:
        raise ValueError(f"{MANIFEST}: unknown layout {entry.layout!r}")
    if not entry.sharded:
        return
    if entry.schema_version < SHARDED_SCHEMA:
        raise ValueError(f"{MANIFEST} declares a sharded set under schema "
                         f"{entry.schema_version}, which has none")
    if not entry.shards or not entry.vector_column:
        raise ValueError(f"{MANIFEST}: a sharded set without its shards or vector column")
    try:
        rows = sum(s.rows for s in entry.shard_records())
    except ValueError as exc:
        raise ValueError(f"{MANIFEST}: {exc}") from None
    if rows != entry.count:
        raise ValueError(f"{MANIFEST}: the shards hold {rows:,} rows but the set "
                         f"{entry.count:,}")


def _is_a(value: object, hint: object) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_is_a(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(_is_a(v, args[0]) for v in value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is type(None):
        return value is None
    return isinstance(value, origin or hint)


_WORDS = {str: "text", int: "a whole number", dict: "an object", type(None): "null"}


def _describe(hint: object) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(a) for a in args)
    if origin is list:
        return f"a list of {_describe(args[0])}"
    return _WORDS.get(hint, getattr(hint, "__name__", str(hint)))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
