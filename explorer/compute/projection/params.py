"""What a map is asked for: the method (a projection contribution), its parameters and result.

The methods are the projection contributions of explorer.plugins, read from the registry
each time they are asked for (a plugin installed or reloaded is seen at once). The map's
metric is one of explorer.compute.vectors.LAYOUT_METRICS ("cosine", "euclidean"), how rows
are compared when laid out; not the neighbour search's METRICS: "dot" and "l2" sets are
laid out as "euclidean".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explorer import plugins
from explorer.compute.vectors import LAYOUT_METRIC_ALIASES, layout_metric

PARTIAL_STEPS = 20             # intermediate layouts per optimisation (every 5%)


def methods() -> tuple[str, ...]:
    """Every projection method: the built-ins, then plugins' (see explorer.plugins)."""
    return plugins.registry().names("projection")


def algorithm_version(method: str) -> int:
    """Part of the cache key: a method's cached results stand until its version changes."""
    return method_entry(method).spec.version


def method_entry(name: str) -> plugins.Entry:
    """The registry's entry for a method, looked up now (plugins may come and go)."""
    entry = plugins.registry().find("projection", name)
    if entry is None:
        raise ValueError(f"unknown projection method {name!r}; expected one of {methods()}")
    return entry


@dataclass(frozen=True)
class ProjectionParams:
    method: str = "pca"          # "pca" | "umap" | "tsne" | "identity" | a plugin's
    dims: int = 2
    sample: int | None = None    # rows to fit on (None: automatic, see the *_SAMPLE constants)
    n_neighbors: int = 15        # UMAP
    min_dist: float = 0.1        # UMAP
    perplexity: float = 30.0     # t-SNE
    metric: str = "cosine"       # "cosine" | "euclidean" ("l2"; "dot" maps raw vectors like l2)
    seed: int = 0
    refine: bool = True          # UMAP above its sample threshold: epochs on every row too
    # (False: the fitted sample's layout with the other rows only placed, about twice as fast)

    def __post_init__(self) -> None:
        method_entry(self.method)
        if self.dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {self.dims}")
        object.__setattr__(self, "metric", layout_metric(self.metric))
        if self.sample is not None and int(self.sample) < 2:
            raise ValueError("sample must be at least 2 rows")
        if self.n_neighbors < 2:
            raise ValueError("n_neighbors must be at least 2")
        if not self.perplexity > 0:
            raise ValueError("perplexity must be positive")
        if not isinstance(self.refine, bool):
            raise ValueError("refine must be true or false")

    def relevant(self) -> dict:
        """The fields that change this method's result."""
        out: dict[str, Any] = {"method": self.method, "dims": self.dims}
        if self.method == "identity":
            return out
        out.update(metric=self.metric, sample=self.sample)
        if self.method == "umap":
            out.update(n_neighbors=self.n_neighbors, min_dist=float(self.min_dist), seed=self.seed)
            if not self.refine:  # absent when on (the default)
                out["refine"] = False
        elif self.method == "tsne":
            out.update(perplexity=float(self.perplexity), seed=self.seed)
        elif self.method != "pca":  # a plugin's method: the knobs it may read
            out.update(n_neighbors=self.n_neighbors, seed=self.seed)
        return out

    def key(self) -> str:
        """Stable, filesystem-safe cache key, e.g. `umap-2d-v1-3f9a0c1b2d4e`."""
        version = algorithm_version(self.method)
        blob = json.dumps({**self.relevant(), "version": version},
                          sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
        return f"{self.method}-{self.dims}d-v{version}-{digest}"


@dataclass
class Projection:
    coords: np.ndarray           # float32 (n, dims); read-only memory map when loaded from cache
    params: ProjectionParams
    seconds: float
    info: dict = field(default_factory=dict)


def default_params(dim: int, count: int, metric: str = "cosine") -> ProjectionParams:
    """What to show first: the set itself when it is 2-D/3-D, else PCA (fast at any size)."""
    metric = metric if metric in LAYOUT_METRIC_ALIASES else "cosine"
    if dim <= 3:
        return ProjectionParams(method="identity", dims=3 if dim == 3 else 2, metric=metric)
    return ProjectionParams(method="pca", dims=2, metric=metric)
