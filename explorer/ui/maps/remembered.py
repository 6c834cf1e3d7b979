"""The map a set reopens with and the names of the projection methods, as the map panel and
the Compare panel both show them.

Read from the plugin registry each time they are asked for: a plugin installed while the
app runs is offered the next time the menu opens. No Qt.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from explorer import plugins
from explorer.core.atomic import write_json
from explorer.core.embedding_set import EmbeddingSet

if TYPE_CHECKING:  # the projection package is imported when a map is first made
    from explorer.compute.projection import ProjectionParams

# in the set's library folder: what the map showed last. The artefact store (core/artifacts.py)
# keeps arrays and files keyed by kind, not a set's small JSON notes, so the map writes it here.
VIEW_FILE = "view.json"


def projection_methods() -> dict[str, str]:
    """Menu label -> projection method, read now: the built-ins', then plugins'.

    Identity is not offered: it is chosen by itself for sets that are already 2-D or 3-D.
    """
    return {e.spec.title: e.spec.name for e in plugins.registry().of_kind("projection")
            if e.spec.name != "identity"}


def method_title(method: str) -> str:
    """The menu label of `method`, or "" when the menu does not offer it."""
    return next((title for title, name in projection_methods().items() if name == method), "")


def last_viewed(es: EmbeddingSet) -> ProjectionParams | None:
    """The projection parameters last shown for a library set, if any and still valid."""
    from explorer.compute.projection import ProjectionParams

    if es.path is None:
        return None
    try:
        with open(es.path / VIEW_FILE, encoding="utf-8") as fh:
            return ProjectionParams(**json.load(fh)["projection"])
    except (OSError, ValueError, TypeError, KeyError):
        return None


def remember_viewed(es: EmbeddingSet, params: ProjectionParams) -> None:
    """Keep `params` so the set reopens as the user left it (not for identity maps)."""
    if es.path is not None and params.method != "identity":
        try:
            write_json(es.path / VIEW_FILE, {"schema_version": 1, "projection": asdict(params)})
        except OSError:
            pass  # a read-only library only forgets the choice
