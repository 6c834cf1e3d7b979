"""What the mouse and the selection keys do on the map, with the meanings every view shares
(`selection_gestures`): a click on a point selects it as `click_mode` says, a box or lasso
acts on the points drawn inside it as `shape_mode` says, a right-click opens a menu and never
selects, Ctrl+A selects what the map shows and Escape drops a shape being drawn, else the
selection. Kept apart from the panel, which draws; this only turns gestures into selections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QKeySequence

from explorer.ui.item_menu import group_menu, item_menu
from explorer.ui.selection_gestures import click_mode, shape_mode
from explorer.ui.state import SelectMode

if TYPE_CHECKING:
    from explorer.ui.panels.map.panel import MapView


class MapGestures(QObject):
    """Listens to the map's viewbox and plot; lives as long as the view."""

    def __init__(self, view: MapView) -> None:
        super().__init__(view)
        self.view = view
        self.state = view.state
        self.last_click: tuple[np.ndarray, np.ndarray] | None = None  # selection before, after
        viewbox = view.viewbox
        viewbox.shapeFinished.connect(self.shape_finished)
        viewbox.clicked.connect(self.clicked)
        viewbox.contextRequested.connect(self.context_requested)
        viewbox.doubleClicked.connect(self.double_clicked)
        view.plot.installEventFilter(self)  # Ctrl+A and Escape while the map has the focus

    def clicked(self, x: float, y: float, modifiers) -> None:
        """A click on a point selects it as `click_mode` says (a Ctrl-click toggles it); a
        plain click on empty space clears the selection, one with a key held does nothing."""
        if self.view.index is None:
            return
        row = self.view.row_at(x, y)
        mode = click_mode(modifiers)
        before = self.state.selection
        if row < 0:
            if mode is SelectMode.REPLACE:
                self.state.select([], source=self.view)
        else:
            self.state.select([row], mode, source=self.view)
            if row in self.state.selection:  # a Ctrl-click that took it out leaves the current
                self.state.set_current(row, source=self.view)
        self.last_click = before, self.state.selection

    def double_clicked(self) -> None:
        """Show every point, outliers too, with the selection as it was: the double-click's
        first click (a plain one on empty space clears) is taken back."""
        if self.last_click is not None:
            before, after = self.last_click
            if self.state.selection is after:  # nothing else changed it since
                self.state.select(before, source=self.view)
        self.last_click = None
        self.view.fit()

    def context_requested(self, x: float, y: float, screen_pos) -> None:
        """A right-click never selects: on a point it opens the item's menu (on the
        selection when the point is in it), on a cluster's label the cluster's, on empty
        space the map's own."""
        view = self.view
        label = view.labels.at(view.viewbox.mapViewToScene(QPointF(x, y)))
        if label >= 0:
            menu = group_menu(self.state, view.labels.rows(label), view.labels.label(label), view)
        else:
            row = view.row_at(x, y)
            menu = item_menu(self.state, row, view) if row >= 0 else None
        if menu is None:
            menu = view.toolbar.map_menu(view, len(self.state.selection) > 0)
        menu.popup(screen_pos)

    def eventFilter(self, watched, event) -> bool:
        """With the map focused, Ctrl+A selects what it shows and Escape drops a shape being
        drawn, else clears the selection. Escape is the window's Cancel Job too: the map
        claims it (ShortcutOverride) only when it has a shape or a selection to drop."""
        view = self.view
        if watched is view.plot and event.type() in (QEvent.Type.ShortcutOverride,
                                                     QEvent.Type.KeyPress):
            select_all = event.matches(QKeySequence.StandardKey.SelectAll)
            escape = event.key() == Qt.Key.Key_Escape and \
                event.modifiers() == Qt.KeyboardModifier.NoModifier and \
                (view.viewbox.drawing() or len(self.state.selection) > 0)
            if select_all or escape:
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    if select_all:
                        self.select_all_shown()
                    elif view.viewbox.drawing():
                        view.viewbox.cancel_shape()
                    else:
                        self.state.select([], source=view)
                return True
        return super().eventFilter(watched, event)

    def shown_rows(self) -> np.ndarray:
        """The rows drawn in colour: those the filter lets through, in a category the legend
        shows (the others are greyed or hidden)."""
        es = self.view.es
        if es is None:
            return np.zeros(0, dtype=np.int64)
        rows = self.state.filter.rows
        return self.view.visible_rows(np.arange(es.count, dtype=np.int64) if rows is None
                                      else rows)

    def select_all_shown(self) -> None:
        """Select every row the map shows in colour (Ctrl+A): the greyed rows stay out."""
        self.state.select(self.shown_rows(), source=self.view)

    def shape_finished(self, tool: str, xs: np.ndarray, ys: np.ndarray, modifiers) -> None:
        """A box or lasso acts on the points drawn inside it, as `shape_mode` says."""
        index = self.view.index
        if index is None:
            return
        if tool == "box":
            rows = index.in_box(float(xs.min()), float(ys.min()), float(xs.max()),
                                float(ys.max()))
        else:
            rows = index.in_polygon(xs, ys)
        self.state.select(self.view.visible_rows(rows), shape_mode(modifiers), source=self.view)
