"""What the map decides without Qt: its colourings, what it says, where it looks.

Plain Python and numpy (no Qt import), so it is tested and reused without a window. Its
methods and the map a set reopens with are in `explorer.ui.maps.remembered`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.core.colouring import MISSING, OTHER, Colouring
from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.maps.remembered import method_title

if TYPE_CHECKING:  # the projection package is imported when a map is first made
    from explorer.compute.projection import ProjectionParams

PLANE = "Concept plane"  # two concept directions as the axes, from the Concepts panel
AS_GIVEN = "As given"  # a set of 2-D or 3-D vectors is drawn at its own coordinates (identity)
FIDELITY = "Map fidelity (k-NN overlap)"
FIDELITY_KEY = "@fidelity"  # the fidelity colouring in a session file (the label may change)
NO_COLOUR = "(no colour)"
PREFERRED_COLUMNS = ("area", "label", "category", "section", "kind", "class")
SAMPLE_FOR_BOUNDS = 200_000  # points read to find the map's extent
POINT_SIZES = (1, 8)  # the point radii (px) offered
HOVER_COLUMNS = 8  # metadata columns in a point's tooltip
HOVER_CHARS = 160  # of each value
POINT_HINT = "right-click: neighbours, concept poles, copy…"  # the last line of the tooltip
FREE_TEXT_VALUES = 200  # a column with more distinct values is read as text, not categories
FREE_TEXT_TOP = 10  # the values of a free-text column that get a colour (repeated texts)



@dataclass
class SavedMap:
    """A session's map, every value checked: a session file may be old or hostile."""

    point_size: int | None = None
    search: str | None = None
    dim: bool | None = None  # fade the map behind neighbour marks
    colour: str | None = None  # the colour menu's entry ("" for no colour)
    hidden: set[str] = field(default_factory=set)  # categories unticked in the legend
    view: tuple[float, float, float, float] | None = None  # x, y, width, height
    plane: bool = False  # the concept plane was shown (its directions are the concepts')
    labels: dict[str, bool] = field(default_factory=dict)  # labels shown, per method
    label_column: str | None = None  # what named the clusters (None: the set's text column)
    projection: ProjectionParams | None = None
    notes: list[str] = field(default_factory=list)  # what could not be understood


def read_saved_map(settings: Mapping[str, Any]) -> SavedMap:
    """What of `settings` (written by the map's `settings()`) can be restored."""
    from explorer.compute.projection import ProjectionParams

    saved = SavedMap(plane=settings.get("concept_plane") is True)
    size = settings.get("point_size")
    if isinstance(size, int) and not isinstance(size, bool) \
            and POINT_SIZES[0] <= size <= POINT_SIZES[1]:
        saved.point_size = size
    if isinstance(settings.get("search"), str):
        saved.search = settings["search"]
    if isinstance(settings.get("dim_for_neighbours"), bool):
        saved.dim = settings["dim_for_neighbours"]
    colour = settings.get("colour_by")
    if isinstance(colour, str):
        saved.colour = FIDELITY if colour == FIDELITY_KEY else colour
    hidden = settings.get("hidden")
    if isinstance(hidden, list):
        saved.hidden = {h for h in hidden if isinstance(h, str)}
    if isinstance(settings.get("labels"), dict):
        saved.labels = {k: v for k, v in settings["labels"].items()
                        if isinstance(k, str) and isinstance(v, bool)}
    if isinstance(settings.get("label_column"), str):
        saved.label_column = settings["label_column"]
    view = settings.get("view")
    if isinstance(view, list) and len(view) == 4 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
            for v in view) and view[2] > 0 and view[3] > 0:
        saved.view = tuple(float(v) for v in view)
    projection = settings.get("projection")
    if isinstance(projection, dict):
        known = ProjectionParams.__dataclass_fields__  # a newer file may carry more
        try:
            saved.projection = ProjectionParams(
                **{k: v for k, v in projection.items() if k in known})
        except (TypeError, ValueError) as exc:
            saved.notes.append(f"the map's projection was not understood ({exc})")
    return saved


def preferred_colour(columns: list[str]) -> str:
    """The column a set is coloured by when it opens: a category-like one, or none."""
    return next((c for c in PREFERRED_COLUMNS if c in columns), "")


def distinct_values(table: pa.Table, column: str) -> int:
    """How many different non-null values `column` holds (for a job thread)."""
    col = table.column(column)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return int(pc.count_distinct(col, mode="only_valid").as_py())


def is_free_text(distinct: int, items: int) -> bool:
    """A column of free text: many values, most items with their own (descriptions, titles)."""
    return distinct > FREE_TEXT_VALUES or distinct > items / 2


def too_many_note(colouring: Colouring, distinct: int) -> str:
    """What the legend says when a column has more values than colours; "" when it has not.

    A column of free text (many values, most items with their own) cannot be read as
    colours at all, and the note says so; for a few dozen categories it says which are grey.
    """
    values = [label for label in colouring.labels if label != MISSING]
    if OTHER not in values or distinct <= len(values):  # nothing pooled: "(other)" is a value
        return ""
    coloured = colouring.labels.index(OTHER)
    grey = colouring.counts[coloured]
    items = sum(colouring.counts)
    if is_free_text(distinct, items):
        return (f"“{colouring.column}” has {distinct:,} distinct values, too many to colour "
                f"by: only the {coloured} most common have a colour, the other {grey:,} items "
                f"are grey as {OTHER}.")
    return (f"“{colouring.column}” has {distinct:,} distinct values: the {coloured} most "
            f"common have a colour, the other {grey:,} items are grey as {OTHER}.")


def info_text(info: dict) -> str:
    """The line under the map: the method or plane, its time and its fidelity scores."""
    method = info.get("method", "")
    parts = [f"{AS_GIVEN}: the set's own coordinates" if method == "identity"
             else method_title(method) or method.upper()]
    if "x" in info:
        parts[0] = f"Concept plane: x = {info['x']}, y = {info['y']}"
    if info.get("shipped"):
        parts.append("shipped with the app")  # its seconds were the build machine's
    elif "seconds" in info:
        parts.append(f"{info['seconds']:.2f} s")
    if "trustworthiness" in info:
        parts.append(f"trustworthiness {info['trustworthiness']:.3f}")
    if "continuity" in info:
        parts.append(f"continuity {info['continuity']:.3f}")
    if "sample_size" in info:
        parts.append(f"(k=10, {info['sample_size']:,} sampled points)")
    return "  ·  ".join(parts)


def _finite_sample(coords: np.ndarray) -> np.ndarray:
    sample = coords[:: max(1, len(coords) // SAMPLE_FOR_BOUNDS)]
    return sample[np.isfinite(sample).all(axis=1)]


def fit_box(coords: np.ndarray | None, robust: bool) -> tuple[float, float, float, float] | None:
    """(x, y, width, height) holding every point, or with `robust` the central 99% (a few
    far outliers would otherwise shrink the map to a dot); None when there is nothing."""
    if coords is None or not len(coords):
        return None
    sample = _finite_sample(coords)
    if not len(sample):
        return None
    q = (0.5, 99.5) if robust else (0, 100)
    lo, hi = np.percentile(sample, q[0], axis=0), np.percentile(sample, q[1], axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0] - lo[0]) or 1.0, float(hi[1] - lo[1]) or 1.0


def frame_box(coords: np.ndarray | None,
              rows: np.ndarray) -> tuple[float, float, float, float] | None:
    """(x, y, width, height) around `rows`, at least a tenth of the map for context."""
    if coords is None or not len(rows):
        return None
    rows = rows[(rows >= 0) & (rows < len(coords))]
    xy = coords[rows].astype(np.float64)
    xy = xy[np.isfinite(xy).all(axis=1)]
    sample = _finite_sample(coords)
    if not len(xy) or not len(sample):
        return None
    span = np.percentile(sample, 99.5, axis=0) - np.percentile(sample, 0.5, axis=0)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    size = np.maximum(hi - lo, 0.1 * span.max())
    centre = (lo + hi) / 2
    return (float(centre[0] - size[0] / 2), float(centre[1] - size[1] / 2),
            float(size[0]) or 1.0, float(size[1]) or 1.0)


def hover_html(es: EmbeddingSet, row: int, fidelity: np.ndarray | None,
               derived: Mapping[str, np.ndarray], neighbours: np.ndarray | None) -> str:
    """A point's tooltip: its label, first columns, fidelity, derived values, neighbour rank."""
    def line(key: str, value: str) -> str:
        return f"<span style='color:gray'>{html.escape(key)}</span> {html.escape(value)}"

    lines = [f"<b>{html.escape(es.label(row))}</b> <span style='color:gray'>#{row}</span>"]
    record = es.metadata.slice(row, 1).to_pylist()[0]
    for key, value in list(record.items())[:HOVER_COLUMNS]:
        text = str(value)
        lines.append(line(key, text[:HOVER_CHARS] + ("…" if len(text) > HOVER_CHARS else "")))
    if fidelity is not None and np.isfinite(fidelity[row]):
        lines.append(line("neighbours kept", f"{fidelity[row]:.0%}"))
    for name, values in derived.items():
        lines.append(line(name, f"{values[row]:.4g}"))
    if neighbours is not None:
        hit = np.flatnonzero(neighbours == row)
        if len(hit):
            lines.append(line("neighbour", f"rank {int(hit[0]) + 1} of {len(neighbours)}"))
    lines.append(f"<span style='color:gray'>{POINT_HINT}</span>")  # the menu is not in sight
    return "<br>".join(lines)
