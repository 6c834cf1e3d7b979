"""UMAP's settings beside the method menu: neighbours, minimum distance, metric and seed.

They used to live in session files only. The values shown are those of the layout on the
map (a set reopens with the layout it was left with, read from its view.json), so
changing one and pressing Map it re-maps this set with them; each choice is cached in the
library like any projection.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QMenu,
                               QPushButton, QSpinBox, QToolButton, QWidget, QWidgetAction)

from explorer.compute.vectors import LAYOUT_METRICS

SEED_MAX = 2**31 - 1
TUNED = ("umap",)  # the methods these settings are offered for


class LayoutSettings(QToolButton):
    """A button opening UMAP's settings; `remapRequested` when the user asks for a map."""

    remapRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, text="Settings")
        self.setToolTip("UMAP's settings: neighbours, minimum distance, metric, seed")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.neighbours = QSpinBox()
        self.neighbours.setRange(2, 200)
        self.neighbours.setValue(15)
        self.neighbours.setToolTip("How many neighbours each item's place is fitted to: fewer "
                                   "keep small local groups, more show the larger structure")
        self.min_dist = QDoubleSpinBox()
        self.min_dist.setRange(0.0, 0.99)
        self.min_dist.setSingleStep(0.05)
        self.min_dist.setDecimals(2)
        self.min_dist.setValue(0.1)
        self.min_dist.setToolTip("How close items may be packed: 0 gives tight clumps, larger "
                                 "values spread each group out")
        self.metric_box = QComboBox()
        self.metric_box.addItems(LAYOUT_METRICS)
        self.metric_box.setToolTip("How the vectors are compared when laid out")
        self.seed = QSpinBox()
        self.seed.setRange(0, SEED_MAX)
        self.seed.setToolTip("Another seed gives another layout of the same data; the same "
                             "seed the same layout")
        self.refine = QCheckBox("Optimise every point")
        self.refine.setChecked(True)
        # rich text, so the tooltip wraps instead of running across the screen
        self.refine.setToolTip("<p>Sets of over 200,000 items: lay out every item from the "
                               "neighbour graph of all of them (about 2 minutes for "
                               "1,000,000). Unchecked, 100,000 are laid out and the others "
                               "only placed by their nearest of those: about twice as fast, "
                               "less faithful</p>")
        self.map_button = QPushButton("Map it")
        self.map_button.setToolTip("Lay the set out again with these settings (cached: asking "
                                   "again costs nothing)")
        self.map_button.clicked.connect(self._map_clicked)
        form = QWidget()
        rows = QFormLayout(form)
        rows.addRow("Neighbours", self.neighbours)
        rows.addRow("Min. distance", self.min_dist)
        rows.addRow("Metric", self.metric_box)
        rows.addRow("Seed", self.seed)
        rows.addRow(self.refine)
        rows.addRow(self.map_button)
        self.popup = QMenu(self)
        action = QWidgetAction(self.popup)
        action.setDefaultWidget(form)
        self.popup.addAction(action)
        self.setMenu(self.popup)

    def values(self) -> dict:
        """The settings as ProjectionParams fields."""
        return {"n_neighbors": self.neighbours.value(), "min_dist": round(self.min_dist.value(), 2),
                "metric": self.metric_box.currentText(), "seed": self.seed.value(),
                "refine": self.refine.isChecked()}

    def show_params(self, params) -> None:
        """Show the settings of `params` (ProjectionParams), those of the layout on the map."""
        self.neighbours.setValue(int(params.n_neighbors))
        self.min_dist.setValue(float(params.min_dist))
        if self.metric_box.findText(params.metric) >= 0:
            self.metric_box.setCurrentText(params.metric)
        self.seed.setValue(min(max(int(params.seed), 0), SEED_MAX))
        self.refine.setChecked(bool(params.refine))

    @staticmethod
    def offered(method: str | None) -> bool:
        """Shown for the methods these settings tune, hidden for the others."""
        return method in TUNED

    def _map_clicked(self) -> None:
        self.popup.hide()
        self.remapRequested.emit()
