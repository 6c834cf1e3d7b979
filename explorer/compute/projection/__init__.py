"""Maps of an embedding set: PCA, UMAP, t-SNE (and identity for sets that are already 2-D/3-D).

Every method is a job: `project(vectors, params, state)` reports progress,
honours cancellation, and UMAP and t-SNE hand intermediate layouts to
`state.partial` while they optimise, always as a float32 array of shape
(n, dims) covering every input row (rows placed from a sample get their place
from their fitted neighbours), so the UI can draw the map as it forms.

Vectors may be a read-only memory map of millions of rows: nothing here copies
the whole matrix. PCA fits on a sample and transforms in chunks; UMAP and t-SNE
fit on all rows up to a size and on a sample above it (`params.sample`, with
an automatic default), placing the other rows at the weighted mean of their
nearest fitted neighbours' coordinates. For metric "cosine" the rows are
L2-normalised first (zero rows stay zero).

The methods are the projection contributions of explorer.plugins: the built-ins here
(declared in explorer/contributions.py, each module's `fit`) and any plugin's, each called
as `fit(vectors, params, state) -> (coords, info)`; `fit_sample` does the reading, sampling
and placing for a plugin's method.

This is the front door; the modules behind it:

    params     ProjectionParams, Projection, default_params, the method registry look-ups
    run        project, cached_project (artefacts keyed by params.key()), run_projection
    rows       reading rows in chunks: cleaning, samples, page-cache hints
    pca, umap, tsne, identity   the built-in methods (`fit`)
    knn        the faiss kNN graph; graph: umap's fuzzy set over our numba kernels
    placement  rows outside a fitted sample, and fit_sample for plugins
"""

from __future__ import annotations

# the built-in methods are imported with the package, so a job thread imports nothing
from explorer.compute.projection import identity, pca, tsne, umap  # noqa: F401
from explorer.compute.projection.graph import find_ab_params, fuzzy_graph
from explorer.compute.projection.params import (
    Projection,
    ProjectionParams,
    algorithm_version,
    default_params,
    methods,
)
from explorer.compute.projection.pca import pca_fit, pca_transform
from explorer.compute.projection.placement import fit_sample
from explorer.compute.projection.run import (
    cached_project,
    project,
    run_projection,
    write_coords,
)
from explorer.compute.projection.umap import optimize_layout

__all__ = ["Projection", "ProjectionParams", "algorithm_version",
           "cached_project", "default_params", "find_ab_params", "fit_sample", "fuzzy_graph",
           "methods", "optimize_layout", "pca_fit", "pca_transform", "project",
           "run_projection", "write_coords"]
