"""Contributions from plugins: declared cheaply, imported when used, never fatal.

Every loader, projection, encoder (an installable model), compression codec and panel of
the window is a `Contribution` registered through one entry-point group, GROUP. An entry
point names a *declaration*: a list of Contributions, or a function returning one. A
declaration carries only cheap metadata (kind, name, file extensions, priority,
description); the implementation is a "module:attr" string imported on first use, so
discovery imports nothing of a plugin but its declaration. The app's own contributions
(`explorer.contributions`) come through the same group, from this distribution's entry
point; without that metadata (a frozen app) they are registered directly, and a note says so.

Whatever a plugin gets wrong -- its declaration fails to import, raises or declares nonsense,
it takes a name already taken, its implementation fails to import or raises -- is recorded
(distribution, entry point, error) for Help > Plugins and `embedding-explorer plugins`, and
reaches a caller only as a `PluginFailure`: an InputError with a readable message.

No Qt here: the CLI and explorer.core use this package. A plugin's own code imports only
`explorer.plugins.api`, the names the app promises to keep for plugins.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled

GROUP = "embedding_explorer.contributions"
KINDS = ("loader", "projection", "encoder", "compression", "panel")
SELF = "embedding-explorer"
BUILTINS = "explorer.contributions:CONTRIBUTIONS"  # the fallback when our metadata is missing
HINT = "Help ▸ Plugins (or `embedding-explorer plugins`) lists the plugins and their errors"

_NAME = re.compile(r"[a-z0-9][a-z0-9._+-]*")
_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
# What a plugin may raise at use and still be understood by the caller as it is.
_PASS_THROUGH = (InputError, Cancelled, MemoryError)
# What a plugin's code may raise that must not end the app (SystemExit from a careless import).
_CONTAINED = (Exception, SystemExit)


@dataclass(frozen=True)
class Contribution:
    """One thing a plugin offers, described without importing it.

    loader       target: load(path, options, state) -> Loaded; sniff: (head, path) -> bool
    projection   target: fit(vectors, params, state) -> (coords (n, dims), info dict)
    encoder      target: a CatalogueModel (a model assembled from installed packages)
    compression  target: a class with Codec's interface, called as cls(method, metric)
    panel        target: a Panel subclass whose `key` is the name (checked where panels are
                 built, explorer.ui.panels.catalogue: this package stays Qt-free)
    """

    kind: str
    name: str  # lowercase, unique within its kind: the method, format, model or panel key
    target: str  # "module:attr" of the implementation, imported on first use
    label: str = ""  # for menus (default: the name)
    description: str = ""
    version: int = 1  # projections: bump when results change (it is part of the cache key)
    extensions: tuple[str, ...] = ()  # loaders: lowercase file-name endings, ".safetensors"
    sniff: str = ""  # loaders: "module:attr" of the content check
    priority: int = 0  # loaders: when several claim a file, the highest whose sniff agrees wins
    by_content: bool = False  # loaders: also tried on files whose extension no loader claims
    memory_mapped: bool = False  # loaders: reading needs little RAM whatever the file size
    ram_per_file_byte: float = 1.5  # loaders: else roughly this much RAM per byte of file

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(e.lower() for e in self.extensions))
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"name {self.name!r}: lowercase letters, digits and ._+- only")
        for ref in (self.target, self.sniff) if self.kind == "loader" else (self.target,):
            if not _REF.fullmatch(ref):
                raise ValueError(f"{self.kind} {self.name!r}: {ref!r} is not 'module:attribute'")
        if self.kind == "loader" and not (self.extensions or self.by_content):
            raise ValueError(f"loader {self.name!r} claims no file: give extensions or by_content")

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Origin:
    """Where a declaration came from."""

    distribution: str
    version: str
    entry_point: str
    builtin: bool

    @property
    def source(self) -> str:
        return "built-in" if self.builtin else f"plugin {self.distribution}"


class PluginFailure(InputError):
    """A contribution that could not be imported or raised: one readable line."""

    def __init__(self, entry: Entry, error: str) -> None:
        spec = entry.spec
        super().__init__(f"the {spec.kind} {spec.name!r} ({entry.origin.source}) failed: {error}",
                         hint=HINT)


@dataclass(eq=False)
class Entry:
    """A registered contribution and what became of it."""

    spec: Contribution
    origin: Origin
    active: bool = True  # False when an earlier entry took the name
    error: str = ""
    details: str = ""  # the traceback of the error, for the dialog
    _resolved: dict[str, Any] = field(default_factory=dict, repr=False)
    _failed: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def loaded(self) -> bool:
        return self.spec.target in self._resolved

    @property
    def status(self) -> str:
        if not self.active:
            return "ignored"
        return "failed" if self.error else "loaded" if self.loaded else "not loaded"

    def resolve(self, ref: str = "") -> Any:
        """Import the implementation (or another "module:attr" of this contribution) once."""
        ref = ref or self.spec.target
        if ref in self._resolved:
            return self._resolved[ref]
        if ref in self._failed:
            raise PluginFailure(self, self._failed[ref])
        try:
            module, _, attr = ref.partition(":")
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except _CONTAINED as exc:
            self._failed[ref] = f"cannot import {ref}: {_describe(exc)}"
            raise self._record(exc, self._failed[ref]) from None
        self._resolved[ref] = obj
        return obj

    def call(self, ref: str, *args: Any, **kwargs: Any) -> Any:
        """Call an implementation; a plugin's unexpected exception becomes a PluginFailure.

        The built-ins' exceptions pass unchanged: they are this app's bugs, with a traceback.
        """
        fn = self.resolve(ref)
        if self.origin.builtin:
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except _CONTAINED as exc:
            raise self._record(exc, _describe(exc)) from None

    def fail(self, error: str | BaseException) -> PluginFailure:
        """Record that the implementation misbehaved (a caller's check, or what it raised when
        the caller used it: its traceback is kept); the error to raise."""
        if isinstance(error, BaseException):
            return self._record(error, _describe(error))
        return self._record(None, error)

    def _record(self, exc: BaseException | None, error: str) -> PluginFailure:
        self.error = error
        self.details = "".join(traceback.format_exception(exc)) if exc is not None else error
        return PluginFailure(self, error)

    def to_dict(self) -> dict:
        spec = self.spec
        out = {"kind": spec.kind, "name": spec.name, "label": spec.title,
               "description": spec.description, "target": spec.target,
               "distribution": self.origin.distribution, "version": self.origin.version,
               "entry_point": self.origin.entry_point, "builtin": self.origin.builtin,
               "loaded": self.loaded, "status": self.status, "error": self.error or None}
        if spec.kind == "loader":
            out.update(extensions=list(spec.extensions), priority=spec.priority,
                       by_content=spec.by_content)
        return out


@dataclass(frozen=True)
class Failure:
    """A declaration that could not be read: nothing from it is registered."""

    origin: Origin
    error: str
    details: str = ""

    def to_dict(self) -> dict:
        return {"distribution": self.origin.distribution, "version": self.origin.version,
                "entry_point": self.origin.entry_point, "builtin": self.origin.builtin,
                "error": self.error}


@dataclass(eq=False)
class Registry:
    entries: list[Entry] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Entry]:
        """The usable contributions of a kind, built-ins first."""
        return [e for e in self.entries if e.active and e.spec.kind == kind]

    def find(self, kind: str, name: str) -> Entry | None:
        return next((e for e in self.of_kind(kind) if e.spec.name == name), None)

    def names(self, kind: str) -> tuple[str, ...]:
        return tuple(e.spec.name for e in self.of_kind(kind))

    def add(self, spec: Contribution, origin: Origin) -> Entry:
        entry = Entry(spec, origin)
        taken = self.find(spec.kind, spec.name)
        if taken is not None:
            entry.active = False
            entry.error = f"the name is already taken by {taken.origin.source}; this one is ignored"
        self.entries.append(entry)
        return entry

    @property
    def problems(self) -> int:
        return len(self.failures) + sum(1 for e in self.entries if e.error)

    def to_dict(self) -> dict:
        return {"group": GROUP, "contributions": [e.to_dict() for e in self.entries],
                "failures": [f.to_dict() for f in self.failures], "notes": list(self.notes),
                "problems": self.problems}


def discover(entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> Registry:
    """Read every declaration in GROUP (ours first) without importing any implementation."""
    registry = Registry()
    try:
        found = importlib.metadata.entry_points(group=GROUP) if entry_points is None \
            else entry_points
        ordered = sorted(found, key=lambda ep: (not _is_self(ep), _dist(ep)[0].lower(), ep.name))
    except _CONTAINED as exc:  # a damaged dist-info somewhere on sys.path
        registry.failures.append(Failure(Origin("(installed distributions)", "", GROUP, False),
                                         f"cannot read their metadata: {_describe(exc)}",
                                         "".join(traceback.format_exception(exc))))
        ordered = []
    has_builtins = False
    for ep in ordered:
        dist, version = _dist(ep)
        origin = Origin(dist, version, ep.name, _is_self(ep))
        if origin.builtin and has_builtins:
            continue  # the same metadata seen twice (an egg-info beside an editable install)
        specs = _declared(registry, origin, ep.load)
        if origin.builtin and specs is not None:
            has_builtins = True
        if not origin.builtin and not has_builtins:
            _fallback(registry)
            has_builtins = True
        for spec in specs or ():
            registry.add(spec, origin)
    if not has_builtins:
        _fallback(registry)
    return registry


def _fallback(registry: Registry) -> None:
    from explorer import __version__

    registry.notes.append(f"no usable entry point of {SELF} in {GROUP} (its distribution "
                          "metadata is missing, as in a frozen app): the built-ins are "
                          "registered directly")
    origin = Origin(SELF, __version__, "(direct)", True)
    module, _, attr = BUILTINS.partition(":")
    for spec in _declared(registry, origin, lambda: getattr(importlib.import_module(module),
                                                             attr)) or ():
        registry.add(spec, origin)


def _declared(registry: Registry, origin: Origin, load) -> list[Contribution] | None:
    """A declaration's contributions, or None (recorded as a Failure) when it cannot be read."""
    try:
        declared = load()
        items = list(declared() if callable(declared) else declared)
        wrong = [repr(i)[:80] for i in items if not isinstance(i, Contribution)]
        if wrong:
            raise TypeError("expected explorer.plugins.Contribution objects, got "
                            + ", ".join(wrong))
        return items
    except _CONTAINED as exc:
        registry.failures.append(Failure(origin, _describe(exc),
                                         "".join(traceback.format_exception(exc))))
        return None


def _dist(ep: importlib.metadata.EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", ""
    return dist.name, dist.version


def _is_self(ep: importlib.metadata.EntryPoint) -> bool:
    return re.sub(r"[-_.]+", "-", _dist(ep)[0]).lower() == SELF


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


_lock = threading.Lock()
_current: Registry | None = None


def registry() -> Registry:
    """The contributions of this process, discovered on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = discover()
        return _current


def reload() -> Registry:
    """Discover again (after installing a plugin in a running process, and for tests)."""
    global _current
    with _lock:
        _current = None
    return registry()


__all__ = ["GROUP", "KINDS", "Contribution", "Entry", "Failure", "Origin", "PluginFailure",
           "Registry", "discover", "registry", "reload"]
