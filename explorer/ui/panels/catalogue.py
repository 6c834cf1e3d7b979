"""Which panels the window has: the built-ins, then the plugins' panels, read when asked.

Every panel is a `panel` contribution (explorer.contributions declares the built-ins in the
window's order; a plugin declares its own the same way), so the list comes from the plugin
registry each time it is asked for, never from a constant frozen at import: a plugin
installed later is in the next window. A plugin's panel is left out, with its problem
recorded on its registry entry (Help ▸ Plugins, the window's status bar) and returned by
`build`, when it cannot be imported, is not a `Panel` with the declared name as its key, its
name is already another panel's (the registry refuses it), or its constructor raises. The
built-ins' failures are this app's bugs: they raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shiboken6

from explorer import plugins
from explorer.ui.panels.base import Area, Panel, PanelContext

KIND = "panel"


@dataclass(frozen=True)
class Built:
    """The window's panels in order, and one readable line per plugin panel left out."""

    panels: list[Panel]
    problems: list[str]


def panel_classes() -> list[type[Panel]]:
    """The panel classes that import and pass the checks: built-ins first, then plugins'."""
    usable, _problems = _resolved(plugins.registry())
    return [cls for cls, _entry in usable]


def build(context: PanelContext, classes: Sequence[type[Panel]] | None = None) -> Built:
    """Construct the window's panels (or `classes`, a caller's own list, built as given).

    A plugin's panel whose constructor raises is left out and its failure recorded, so one
    broken plugin never keeps the window from opening.
    """
    if classes is not None:
        keys = [cls.key for cls in classes]
        if len(set(keys)) != len(keys):
            raise ValueError(f"two panels share a key: {keys}")
        return Built([cls(context) for cls in classes], [])
    usable, problems = _resolved(plugins.registry())
    panels: list[Panel] = []
    for cls, entry in usable:
        if entry.origin.builtin:
            panels.append(cls(context))
            continue
        try:
            panels.append(_construct(cls, context))
        except Exception as exc:  # noqa: BLE001 - a plugin's constructor: contained, recorded
            problems.append(entry.fail(exc).message)
    return Built(panels, problems)


def _construct(cls: type[Panel], context: PanelContext) -> Panel:
    """`cls(context)`, but when the constructor raises, the widget it made so far is deleted:
    the base class has already connected it to the shared state and the job runner, which
    would otherwise keep a half-made panel alive and call it on every new set."""
    panel = cls.__new__(cls)
    try:
        panel.__init__(context)
    except Exception:
        if shiboken6.isValid(panel):
            shiboken6.delete(panel)
        raise
    return panel


def _resolved(registry: plugins.Registry
              ) -> tuple[list[tuple[type[Panel], plugins.Entry]], list[str]]:
    """The usable panel classes with their entries, and one line per panel left out."""
    problems = [f"the panel {entry.spec.name!r} ({entry.origin.source}): {entry.error}"
                for entry in registry.entries if entry.spec.kind == KIND and not entry.active]
    usable = []
    for entry in registry.of_kind(KIND):
        try:
            cls = entry.resolve()
            error = _contract_error(cls, entry.spec.name)
            if error:
                raise entry.fail(error)
        except plugins.PluginFailure as failure:
            if entry.origin.builtin:
                raise
            problems.append(failure.message)
            continue
        usable.append((cls, entry))
    return usable, problems


def _contract_error(cls: object, name: str) -> str:
    """Why `cls` cannot be the panel declared as `name` ("" when it can)."""
    if not (isinstance(cls, type) and issubclass(cls, Panel)):
        return f"{cls!r} is not a Panel subclass (explorer.plugins.api.Panel)"
    key = getattr(cls, "key", None)
    if key != name:
        return f"its class's key is {key!r}, not the declared name {name!r}"
    title = getattr(cls, "title", None)
    if not isinstance(title, str) or not title.strip():
        return "its class has no title"
    if not isinstance(cls.area, Area):
        return f"its class's area {cls.area!r} is not an Area"
    return ""
