"""Fake plugin distributions, installed for one test: shared by the registry's and panels' tests."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from explorer import plugins


@contextmanager
def installed(site: Path, modules: Iterable[str]) -> Iterator[plugins.Registry]:
    """The registry with the distributions under `site` importable; afterwards, as before
    (their modules forgotten, so the next test imports its own)."""
    sys.path.insert(0, str(site))
    try:
        yield plugins.reload()
    finally:
        sys.path.remove(str(site))
        for name in modules:
            sys.modules.pop(name, None)
        plugins.reload()
