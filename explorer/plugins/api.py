"""Everything a plugin may import from the app, in one module: what it names stays.

A plugin's declaration module imports `Contribution` from here at start-up, so this module
must stay cheap to import: the declaration kinds, the task state and the errors come at
once; the numerics (projection helpers, numba's set-up, the set) and Qt (the panel contract)
are imported on first use of their name (module `__getattr__`), i.e. only by a plugin's
implementation module.

    Contribution, KINDS          declare what the plugin offers (see explorer.plugins)
    TaskState, Cancelled         progress, status, partial results, cancellation
    InputError                   a readable error about the user's input (choices, option)
    Loaded, LoadOptions,         a loader's result, its options, the memory check for an
      check_array_fits             array about to be read
    EmbeddingSet                 a set: vectors, metadata, metric
    ProjectionParams, fit_sample a projection's parameters; fit any matrix embedder at any
                                 size (sample, fit, place the rest)
    METRICS, LAYOUT_METRICS,     the metric vocabularies and unit-normalising rows
      unit
    jit, prange, parallel_lock,  numba with the app's on-disk cache; one parallel launch at
      run_parallel                 a time in the process (numba aborts on two)
    CatalogueModel               an encoder contribution's target
    Codec                        a compression contribution's interface
    Panel, PanelContext, Area    a panel contribution's base class (key = the declared
                                 name, title, default area; hooks new_set, settings,
                                 apply_settings, show_error; `self.jobs` runs its work off
                                 the UI thread), what it is built with, where it sits
    AppState, Derived            the shared state panels talk through (`panel.state`), and
                                 a per-row number the map can colour by (`set_derived`)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.plugins import KINDS, Contribution

if TYPE_CHECKING:
    from explorer.compute.compression.codecs import Codec
    from explorer.compute.encoding.catalogue import CatalogueModel
    from explorer.compute.numba import jit, parallel_lock, prange, run_parallel
    from explorer.compute.projection import ProjectionParams, fit_sample
    from explorer.compute.vectors import LAYOUT_METRICS, METRICS, unit
    from explorer.core.embedding_set import EmbeddingSet
    from explorer.core.loaders.base import Loaded, LoadOptions, check_array_fits
    from explorer.ui.panels.base import Area, Panel, PanelContext
    from explorer.ui.state import AppState, Derived

_ON_FIRST_USE = {
    "AppState": "explorer.ui.state",
    "Area": "explorer.ui.panels.base",
    "CatalogueModel": "explorer.compute.encoding.catalogue",
    "Codec": "explorer.compute.compression.codecs",
    "Derived": "explorer.ui.state",
    "EmbeddingSet": "explorer.core.embedding_set",
    "LAYOUT_METRICS": "explorer.compute.vectors",
    "LoadOptions": "explorer.core.loaders.base",
    "Loaded": "explorer.core.loaders.base",
    "METRICS": "explorer.compute.vectors",
    "Panel": "explorer.ui.panels.base",
    "PanelContext": "explorer.ui.panels.base",
    "ProjectionParams": "explorer.compute.projection",
    "check_array_fits": "explorer.core.loaders.base",
    "fit_sample": "explorer.compute.projection",
    "jit": "explorer.compute.numba",
    "parallel_lock": "explorer.compute.numba",
    "prange": "explorer.compute.numba",
    "run_parallel": "explorer.compute.numba",
    "unit": "explorer.compute.vectors",
}


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = ["KINDS", "LAYOUT_METRICS", "METRICS", "AppState", "Area", "Cancelled",
           "CatalogueModel", "Codec", "Contribution", "Derived", "EmbeddingSet", "InputError",
           "LoadOptions", "Loaded", "Panel", "PanelContext", "ProjectionParams", "TaskState",
           "check_array_fits", "fit_sample", "jit", "parallel_lock", "prange", "run_parallel",
           "unit"]
