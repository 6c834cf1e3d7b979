"""The Compare dock: does another set of the same items keep this set's neighbourhoods?

Set A is the set shown; B is picked among the library's other sets (copies this set made
first: a concept removed, a compressed or truncated copy). `compare_sets` runs as the job
`compare-sets:compare` (progress, Cancel; a result for a B the user has since left is dropped, as
is one for an A the window left, by PanelJobs). The result: a summary line, the overlap
histogram, "Colour the map by overlap" (a Derived array in the shared state, NaN for items
not joined, which the map leaves undrawn), the items that changed most or least with one
item's neighbours in A and B side by side, and B's own map (`compare-sets:other-project`, the
main map's method through the same projection cache) linked to A's selection and hover.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.core.colouring import Colouring, colouring_for
from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.base import Area, Panel, PanelContext
from explorer.ui.panels.compare.choices import JOIN_TIPS, Choice, choices
from explorer.ui.panels.compare.item_lists import ChangedList, NeighbourPair
from explorer.ui.panels.compare.other_map import OtherMap
from explorer.ui.state import Derived, NeighbourMarks, SelectMode
from explorer.ui.widgets.dock_widgets import DIM_STYLE, shrinkable, wrapping
from explorer.ui.widgets.plot import plain_axes

EMPTY_TEXT = ("Compare this set with another set of the same items: a fine-tuned model's "
              "vectors, a compressed or concept-removed copy… Each item's nearest neighbours "
              "in both sets are compared.")
NO_OTHER = ("The library holds no other set. Make one (Concepts ▸ Remove, or import another "
            "model's vectors of the same items), then pick it here.")
HIST_BRUSH = (90, 120, 200)
SAMPLE_FROM = 20_000  # larger sets compare a sample's neighbours by default (all take minutes)
SAMPLE = 10_000


@dataclass(frozen=True)
class Outcome:
    """A finished comparison with what linking the two maps needs."""

    b_id: str
    b: EmbeddingSet
    comparison: Any  # explorer.compute.compare.Comparison
    a_to_b: np.ndarray  # B row of each A row, -1 where not joined
    b_to_a: np.ndarray  # A row of each B row, -1 where not joined


def run_comparison(library, a: EmbeddingSet, b_id: str, k: int, join: str,
                   sample: int | None, state) -> Outcome:
    """The job: open B, compare, and index the whole join both ways (for the linked maps,
    which show every joined item even when only a sample's neighbours are compared)."""
    from explorer.compute.compare import compare_sets

    state.status("Opening set B")
    b = library.open(b_id)
    c = compare_sets(a, b, k=k, join=join, sample=sample, state=state)
    a_to_b = np.full(a.count, -1, dtype=np.int64)
    b_to_a = np.full(b.count, -1, dtype=np.int64)
    a_to_b[c.joined_a] = c.joined_b
    b_to_a[c.joined_b] = c.joined_a
    return Outcome(b_id, b, c, a_to_b, b_to_a)


def summary_text(c, b_name: str) -> str:
    """The result's one paragraph: what was compared and how alike the two sets are."""
    join = c.join
    partial = join.only_a or join.only_b or join.duplicated_a or join.duplicated_b
    compared = f"<b>{c.count:,}</b> items" if not c.sampled else \
        f"<b>{c.sampled:,}</b> sampled items (of {c.count:,})"
    parts = [f"{compared} compared with <b>{b_name}</b> ("
             + (join.describe() if partial else f"joined by {join.how}") + ")",
             (f"overlap@{c.k}: mean <b>{c.mean_overlap:.3f}</b>, "
              f"median {c.median_overlap:.3f} (chance {c.chance_overlap:.4f})")]
    if c.rank_correlation is not None:
        parts.append(f"rank correlation {c.rank_correlation:.3f}")
    parts.append(f"CKA {c.cka:.3f}")
    parts.append(f"Procrustes residual {c.procrustes_residual:.3f}"
                 if c.procrustes_residual is not None else
                 f"Procrustes: dimensions differ ({c.dim_a} vs {c.dim_b})")
    return " · ".join(parts) + f" <span style='color: gray'>({c.seconds:.1f} s)</span>"


class CompareView(Panel):
    key = "compare-sets"  # "compare" is the Neighbours panel's tab of two items' lists
    title = "Compare sets"
    area = Area.BOTTOM

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.es: EmbeddingSet | None = None
        self.outcome: Outcome | None = None
        self._pending_other: str | None = None  # a session's B, once the combo lists it

        self.other = shrinkable(QComboBox(), 18)
        self.other.setToolTip("Set B: another set of the same items (copies this set made "
                              "come first)")
        self.other.currentIndexChanged.connect(lambda _i: self._other_changed())
        self.k = QSpinBox(prefix="k = ", minimum=1, maximum=200, value=10)
        self.k.setToolTip("Nearest neighbours compared per item")
        self.sample = QSpinBox(minimum=0, maximum=100_000_000, singleStep=1000,
                               specialValueText="all items", suffix=" items")
        self.sample.setToolTip("Compare the neighbours of this many items drawn (seeded) from "
                               "the joined ones, each still searched among all of them; CKA "
                               "and Procrustes always use every item. All: exact for every "
                               "item, which takes minutes past some 20,000 items.")
        self.join = QComboBox()
        for how, tip in JOIN_TIPS.items():
            self.join.addItem(how)
            self.join.setItemData(self.join.count() - 1, tip, 3)  # ToolTipRole
        self.join.setToolTip("How items of A and B are paired: " + "; ".join(
            f"{k}: {v}" for k, v in JOIN_TIPS.items()))
        self.run_button = QPushButton("Compare")
        self.run_button.setToolTip("Each item's exact nearest neighbours in A and in B, "
                                   "CKA and Procrustes over every joined item")
        self.run_button.clicked.connect(self.compare)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.compare_job.cancel())
        self.cancel_button.hide()
        self.progress = QProgressBar(maximum=1000, textVisible=False, maximumHeight=6)
        self.progress.hide()
        self.compare_job = self.jobs.track("compare", self.progress, on_status=self._status,
                                           on_end=self._ended)
        self.map_progress = QProgressBar(maximum=1000, textVisible=False, maximumHeight=4)
        self.map_progress.hide()
        self.map_job = self.jobs.track("other-project", self.map_progress)

        self.status = wrapping(QLabel())
        self.status.setStyleSheet(DIM_STYLE)
        self.summary = wrapping(QLabel())
        self.histogram = pg.PlotWidget(axisItems=plain_axes())
        self.histogram.setBackground(None)
        self.histogram.setFixedSize(230, 84)
        self.histogram.setMouseEnabled(False, False)
        self.histogram.hideButtons()
        self.histogram.getAxis("left").setStyle(showValues=False)
        self.histogram.setToolTip("Items at each overlap, 0 to k shared neighbours of k")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=pg.mkBrush(*HIST_BRUSH))
        self.histogram.addItem(self.bars)
        self.colour_button = QPushButton("Colour the map by overlap")
        self.colour_button.setToolTip("Colour set A's map by each item's overlap@k with B "
                                      "(items not joined are not drawn)")
        self.colour_button.clicked.connect(self.colour_map)

        self.changed = ChangedList()
        self.changed.chosen.connect(self.choose)
        self.pair = NeighbourPair()
        self.pair.clicked.connect(lambda row: self.state.select([row], source=self))
        self.other_map = OtherMap(self.jobs)
        self.other_map.picked.connect(self._picked_on_b)
        self.other_map.hovered.connect(self._hovered_on_b)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Compare with"))
        controls.addWidget(self.other, 1)
        controls.addWidget(self.k)
        controls.addWidget(self.sample)
        controls.addWidget(QLabel("join"))
        controls.addWidget(self.join)
        controls.addWidget(self.run_button)
        controls.addWidget(self.cancel_button)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        side = QVBoxLayout()
        side.addWidget(self.histogram)
        side.addWidget(self.colour_button)
        top.addLayout(side)
        self.result = QWidget()
        result = QVBoxLayout(self.result)
        result.setContentsMargins(0, 0, 0, 0)
        result.addLayout(top)
        self.split = QSplitter()
        self.split.addWidget(self.changed)
        self.split.addWidget(self.pair)
        map_box = QWidget()
        map_layout = QVBoxLayout(map_box)
        map_layout.setContentsMargins(0, 0, 0, 0)
        map_layout.addWidget(self.map_progress)
        map_layout.addWidget(self.other_map, 1)
        self.split.addWidget(map_box)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 3)
        self.split.setStretchFactor(2, 3)
        result.addWidget(self.split, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.progress)
        layout.addWidget(self.error_line)
        layout.addWidget(self.status)
        layout.addWidget(self.result, 1)
        layout.addStretch(0)  # takes the room while there is no result: the text stays on top

        state = self.state
        state.selectionChanged.connect(lambda rows, _src: self._mark_selection(rows))
        state.hoverChanged.connect(self._hover_changed)
        state.currentChanged.connect(self._current_changed)
        state.libraryChanged.connect(lambda _id: self.refresh_choices())
        state.neighboursChanged.connect(lambda _marks: self._mark_neighbours())
        state.colourByChanged.connect(lambda _name: self.colour_other())
        state.derivedChanged.connect(lambda name: name == state.colour_by and self.colour_other())
        self.new_set(None)

    # --- session ----------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {"other": self.other_id(), "k": self.k.value(), "join": self.join.currentText(),
                "sample": self.sample.value()}

    def apply_settings(self, settings: Mapping[str, Any]) -> list[str]:
        """A set B no longer in the library leaves the panel empty, without a note: nothing
        the user can do about it but pick another."""
        notes = []
        k = settings.get("k")
        if isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= self.k.maximum():
            self.k.setValue(k)
        elif k is not None:
            notes.append(f"compare sets: k {k!r} is not a whole number from 1 to {self.k.maximum()}")
        sample = settings.get("sample")
        if isinstance(sample, int) and not isinstance(sample, bool) and 0 <= sample:
            self.sample.setValue(min(sample, self.sample.maximum()))
        elif sample is not None:
            notes.append(f"compare sets: sample {sample!r} is not a whole number of items")
        join = settings.get("join")
        if join in JOIN_TIPS:
            self.join.setCurrentText(join)
        elif join is not None:
            notes.append(f"compare sets: join {join!r} is not one of {', '.join(JOIN_TIPS)}")
        other = settings.get("other")
        if isinstance(other, str) and other:
            if not self._pick(other):
                self.other.setCurrentIndex(-1)
                self.status.setText(f"The session compared with a set no longer in the library "
                                    f"({other}). " + self._empty_text())
        elif other is not None:
            notes.append(f"compare sets: other set {other!r} is not a set id")
        return notes

    # --- sets -------------------------------------------------------------------------
    def new_set(self, es: EmbeddingSet | None) -> None:
        self.es = es
        if es is not None:
            self.sample.setValue(SAMPLE if es.count > SAMPLE_FROM else 0)
        self.refresh_choices()
        self._clear()

    def refresh_choices(self) -> None:
        """List the library's other sets (a manifest read each: cheap, as the Library
        panel's own refresh)."""
        es, keep = self.es, self.other_id()
        offered = [] if es is None else choices(self.panel_context.library.scan()[0],
                                                es.library_id, es.count)
        self.other.blockSignals(True)
        self.other.clear()
        for c in offered:
            self.other.addItem(c.text, c)
            self.other.setItemData(self.other.count() - 1, c.tip, 3)
        self.other.setCurrentIndex(-1)
        self.other.blockSignals(False)
        if keep is None or not self._pick(keep):
            self.other.setCurrentIndex(0 if offered else -1)
        self.run_button.setEnabled(es is not None and bool(offered))
        if self.outcome is None:
            self.status.setText(self._empty_text())

    def _empty_text(self) -> str:
        if self.es is None:
            return "Open a set, then compare it with another set of the same items."
        return EMPTY_TEXT if self.other.count() else NO_OTHER

    def other_id(self) -> str | None:
        choice = self.other.currentData()
        return choice.id if isinstance(choice, Choice) else None

    def _pick(self, set_id: str) -> bool:
        for i in range(self.other.count()):
            if self.other.itemData(i).id == set_id:
                self.other.setCurrentIndex(i)
                return True
        return False

    def _other_changed(self) -> None:
        """Another B: whatever was shown or running for the old one goes."""
        if self.outcome is not None and self.outcome.b_id == self.other_id():
            return
        self.jobs.cancel("compare")
        self.jobs.cancel("other-project")
        self._clear()

    def _clear(self) -> None:
        self.outcome = None
        self.error_line.clear_error()
        self.result.hide()
        self.changed.show_comparison(None, None)
        self.pair.show_item(None, None, -1)
        self.other_map.show_layout(None, "")
        self.status.setText(self._empty_text())
        self.status.show()

    # --- running ----------------------------------------------------------------------
    def compare(self) -> None:
        es, b_id = self.es, self.other_id()
        if es is None or b_id is None:
            return
        k, join, library = self.k.value(), self.join.currentText(), self.panel_context.library
        sample = self.sample.value() or None
        self._clear()
        self.status.setText("Comparing…")
        self.run_button.setEnabled(False)
        self.cancel_button.show()
        self.compare_job.submit("Comparing two sets",
                                lambda state: run_comparison(library, es, b_id, k, join, sample,
                                                             state),
                                on_done=self._compared)

    def _status(self, text: str) -> None:
        self.status.setText(text)

    def _ended(self) -> None:
        self.run_button.setEnabled(self.es is not None and self.other.count() > 0)
        self.cancel_button.hide()
        if self.outcome is None and not self.error_line.isVisible():
            self.status.setText(self._empty_text())

    def show_error(self, error: BaseException) -> None:
        self.status.clear()
        super().show_error(error)

    def _compared(self, outcome: Outcome) -> None:
        if outcome.b_id != self.other_id():
            return  # the user picked another B meanwhile: this one is not asked for
        self.outcome = outcome
        c, es = outcome.comparison, self.es
        self.status.hide()
        self.result.show()
        self.summary.setText(summary_text(c, outcome.b.name))
        counts = c.histogram()
        self.bars.setOpts(x=np.arange(len(counts)), height=counts, width=0.8)
        self.histogram.getAxis("bottom").setTicks([[(0, "0"), (c.k / 2, "overlap"),
                                                    (c.k, str(c.k))]])
        self.histogram.setXRange(-0.6, c.k + 0.6, padding=0)
        self.histogram.setYRange(0, max(counts) * 1.05 if max(counts) else 1, padding=0)
        self.changed.show_comparison(es, c)
        width = self.split.width()
        self.split.setSizes([int(width * 0.3), int(width * 0.34), int(width * 0.36)])
        self._current_changed(self.state.current, None)
        self._project_other(outcome)

    def _project_other(self, outcome: Outcome) -> None:
        """B's layout by the main map's method (its last one for A, else the default),
        through the projection cache the map uses: a B mapped before opens at once."""
        from explorer.compute.projection import cached_project, default_params
        from explorer.ui.maps.remembered import last_viewed, method_title

        a, b = self.es, outcome.b
        params = default_params(b.dim, b.count, b.metric)
        shown = last_viewed(a) if a is not None else None
        if shown is not None and params.method != "identity":
            params = replace(shown, metric=params.metric, dims=2)
        name = method_title(params.method) or params.method
        self.other_map.show_layout(None, f"Computing {name} of B…")
        self.other_map.title.setText(f"<b>{b.name}</b> ({name})")

        def done(projection) -> None:
            if self.outcome is outcome:
                self.other_map.show_layout(projection.coords, "")
                self._mark_selection(self.state.selection)
                self._mark_neighbours()
                self.colour_other()

        def failed(error: BaseException) -> None:
            if self.outcome is outcome:
                self.other_map.show_layout(None, "B's map could not be made")
                self.show_error(error)

        self.map_job.submit(f"Computing B's {name}",
                            lambda state: cached_project(b, params, state),
                            on_done=done, on_error=failed)

    def colour_other(self) -> None:
        """Colour B's map by what colours the main map: a metadata column of B's (same values,
        same colours), or a per-item array of A's carried over the join."""
        o, name = self.outcome, self.state.colour_by
        if o is None or self.other_map.coords is None:
            return
        derived = self.state.derived.get(name)
        if derived is not None:
            values = np.full(o.b.count, np.nan, dtype=np.float32)
            joined = np.flatnonzero(o.a_to_b >= 0)
            values[o.a_to_b[joined]] = derived.values[joined]
            colouring = Colouring(name, "numeric", values=values, vmin=derived.vmin,
                                  vmax=derived.vmax)
            self.jobs.submit("other-colour", f"Colouring B by {name}", lambda _s: colouring,
                             on_done=lambda colouring: self.outcome is o
                             and self.other_map.set_colouring(colouring))
        elif name and name in o.b.columns:
            b = o.b
            self.jobs.submit("other-colour", f"Colouring B by {name}",
                             lambda _s: colouring_for(b.metadata, name),
                             on_done=lambda colouring: self.outcome is o
                             and self.other_map.set_colouring(colouring))
        else:
            self.jobs.cancel("other-colour")
            self.other_map.set_colouring(None)

    # --- using the result -------------------------------------------------------------
    def colour_map(self) -> None:
        """Colour A's map by each joined item's overlap@k (NaN, undrawn, elsewhere)."""
        o, es = self.outcome, self.es
        if o is None or es is None:
            return
        c = o.comparison
        values = np.full(es.count, np.nan, dtype=np.float32)
        values[c.rows_a] = c.overlap
        name = f"overlap@{c.k} with {o.b.name}"
        left = es.count - len(c.rows_a)
        self.state.set_derived(name, Derived(values, 0.0, 1.0, note=(
            f"share of each item's {c.k} nearest in this set that are among its {c.k} "
            f"nearest in {o.b.name}" + (f"; {left:,} items " + (
                "outside the sample" if c.sampled else "not joined") + " are not drawn"
                if left else ""))))
        self.state.set_colour_by(name)
        self.state.request_view("map")

    def position(self, row: int) -> int:
        """Where A row `row` is among the compared items (-1: not compared)."""
        o = self.outcome
        if o is None or row < 0:
            return -1
        rows = o.comparison.rows_a
        at = int(np.searchsorted(rows, row))
        return at if at < len(rows) and rows[at] == row else -1

    def choose(self, row: int) -> None:
        """An item of the list: select it, look at it, and put B's neighbours of it on A's
        map (where the new ones lie is the question)."""
        at = self.position(row)
        if at < 0:
            return
        c = self.outcome.comparison
        self.state.select([row], source=self)
        self.state.set_current(row, source=self)
        self.pair.show_item(self.es, c, at)
        got = c.neighbours_b[at]
        self.state.set_neighbours(NeighbourMarks.of([row], got[got >= 0],
                                                    f"{self.outcome.b.name}, top {c.k}"))

    def _current_changed(self, row: int, source: object) -> None:
        if source is self:
            return
        at = self.position(row)
        if at >= 0:
            self.pair.show_item(self.es, self.outcome.comparison, at)

    def _mark_selection(self, rows: np.ndarray) -> None:
        o = self.outcome
        if o is None:
            return
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[(rows >= 0) & (rows < len(o.a_to_b))]
        b_rows = o.a_to_b[rows]
        self.other_map.set_marked(b_rows[b_rows >= 0])

    def _mark_neighbours(self) -> None:
        """The main map's neighbour marks at their B rows (items B lacks left out)."""
        o, marks = self.outcome, self.state.neighbours
        if o is None or marks is None:
            self.other_map.set_marks(None)
            return

        def in_b(rows: np.ndarray) -> np.ndarray:
            rows = rows[(rows >= 0) & (rows < len(o.a_to_b))]
            rows = o.a_to_b[rows]
            return rows[rows >= 0]
        self.other_map.set_marks(NeighbourMarks.of(in_b(marks.query_rows), in_b(marks.rows),
                                                   marks.label))

    def _hover_changed(self, row: int, _source: object) -> None:
        o = self.outcome
        self.other_map.set_hover(int(o.a_to_b[row]) if o is not None and
                                 0 <= row < len(o.a_to_b) else -1)

    def _picked_on_b(self, rows_b: np.ndarray, mode: SelectMode) -> None:
        """A click or shape on B's map selects the joined A rows."""
        o = self.outcome
        if o is None:
            return
        rows = o.b_to_a[np.asarray(rows_b, dtype=np.int64)]
        rows = rows[rows >= 0]
        self.state.select(rows, mode, source=self)
        if len(rows) == 1 and rows[0] in self.state.selection:
            self.state.set_current(int(rows[0]), source=self)
            at = self.position(int(rows[0]))
            if at >= 0:
                self.pair.show_item(self.es, o.comparison, at)

    def _hovered_on_b(self, row_b: int) -> None:
        o = self.outcome
        row = int(o.b_to_a[row_b]) if o is not None and row_b >= 0 else -1
        self.state.set_hover(row, source=self)
        self.other_map.set_hover(row_b)
