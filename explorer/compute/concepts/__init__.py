"""Concept directions: a unit vector in the set's space that points from one meaning to another.

A direction is defined from two poles (typed texts, two groups of items, two extreme items),
fitted (a probe), taken from the data (a principal component) or built from saved ones
(weighted sums, Gram-Schmidt). Every item's score is its projection on the direction. A
direction says nothing by itself, so each one can carry its `Validity`. Directions are saved
with their set, travel as JSON, and are reusable on any set made by the same model;
projecting them out makes a derived set whose neighbours no longer see the concept.

Use the package, not its modules: `from explorer.compute import concepts as cc`. The modules:
`direction` (Direction, Validity), `scoring`, `groups` (the items a direction is built from),
`build` (defining one), `arithmetic` (combining saved ones), `validity`, `summary` (the items
at each end), `overlap` (entanglement), `removal` (projecting out), `store` (saving, JSON),
`bins` (a direction's scores binned for a histogram, split by a column, the exact float32
ranges a brush selects).
"""

from explorer.compute.concepts.arithmetic import combine, orthogonalise
from explorer.compute.concepts.bins import (BINS, EMPTY_GREY, MAX_CATEGORIES, TOP, Binned, Split,
                                            bin_scores, colour_columns, count_between,
                                            float32_bounds, rows_between, split_by)
from explorer.compute.concepts.build import (component, define, fit_probe, from_extremes,
                                             from_rest, from_rows, from_texts, from_where,
                                             probe)
from explorer.compute.concepts.direction import METHODS, Direction, Validity, check_dim
from explorer.compute.concepts.groups import check_rows, where_rows
from explorer.compute.concepts.overlap import Entanglement, entanglement
from explorer.compute.concepts.removal import (RemovalEffect, SideBySide,
                                               neighbours_side_by_side, removal_basis,
                                               removal_effect, remove_directions)
from explorer.compute.concepts.scoring import represent, score_matrix, scores
from explorer.compute.concepts.store import (JSON_FORMAT, JSON_VERSION, KIND, DirectionStore,
                                             compatibility, export_json, import_json, read_json)
from explorer.compute.concepts.summary import describe, top_items
from explorer.compute.concepts.validity import (MEAN_COSINE_WARN, NORM_SPEARMAN_WARN,
                                                SMALL_GROUP, column_values, heldout_accuracy,
                                                numeric_columns, pole_accuracy, validate)

__all__ = [
    "Direction", "Validity", "Entanglement", "RemovalEffect", "SideBySide", "DirectionStore",
    "METHODS", "KIND", "JSON_FORMAT", "JSON_VERSION", "MEAN_COSINE_WARN", "NORM_SPEARMAN_WARN",
    "SMALL_GROUP", "define", "from_texts", "from_rows", "from_rest", "from_where", "from_extremes", "probe",
    "fit_probe", "component", "combine", "orthogonalise", "scores", "score_matrix", "represent",
    "validate", "heldout_accuracy", "pole_accuracy", "numeric_columns", "column_values",
    "top_items", "describe", "entanglement", "removal_basis", "remove_directions",
    "removal_effect", "neighbours_side_by_side", "export_json", "read_json", "import_json",
    "compatibility", "where_rows", "check_rows", "check_dim", "BINS", "EMPTY_GREY",
    "MAX_CATEGORIES", "TOP", "Binned", "Split", "bin_scores", "colour_columns", "count_between",
    "float32_bounds", "rows_between", "split_by",
]
