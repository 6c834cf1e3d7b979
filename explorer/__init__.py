"""Embedding Explorer: open, keep and look at embedding sets.

`explorer.load`, `explorer.show` and `explorer.Set` are the Python API (explorer/api/). They
are imported on first use (module `__getattr__`), so `import explorer`, which the app and
the CLI do first thing at start-up, stays as light as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
API = ("load", "show", "Set", "NeighbourList")

if TYPE_CHECKING:
    from explorer.api import NeighbourList, Set, load, show


def __getattr__(name: str) -> Any:
    if name in API:
        from explorer import api

        return getattr(api, name)
    raise AttributeError(f"module 'explorer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])


__all__ = ["NeighbourList", "Set", "__version__", "load", "show"]
