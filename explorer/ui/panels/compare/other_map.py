"""Set B's map beside the main one: its own layout, A's selection and hover shown on it.

The items selected in A (the shared selection, A's rows) are drawn at their B rows, the
hovered item is ringed, a neighbour search shown on the main map is shown here too; a click, box or lasso on B's map selects the joined A rows in the
shared state. Drawn by the main map's own canvas and `render_layers`, in a job of the panel
(`compare-sets:other-render`), so 60k points cost the UI thread nothing. Coloured as the main
map is (the panel makes B's colouring), so the two layouts read side by side.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.compute.spatial import GridIndex
from explorer.core.colouring import Colouring
from explorer.ui.maps.canvas import MapCanvas
from explorer.ui.maps.render import MARGIN, Layers, render_layers
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.selection_gestures import (
    CLICK_HELP,
    SHAPE_HELP,
    click_mode,
    shape_mode,
)
from explorer.ui.state import NeighbourMarks, SelectMode
from explorer.ui.widgets.dock_widgets import DIM_STYLE, wrapping

HOVER_PX = 8
POINT_SIZE = 3
TOOLS = (("pan", "Pan", "Drag to pan, wheel to zoom"),
         ("box", "Box", f"Drag a box to select the items in it ({SHAPE_HELP})"),
         ("lasso", "Lasso", f"Draw round the items to select ({SHAPE_HELP})"))


class OtherMap(QWidget):
    """B's 2-D layout. `picked` carries B rows and how to combine them with the selection;
    `hovered` a B row or -1."""

    picked = Signal(object, object)  # B rows (np.ndarray), SelectMode
    hovered = Signal(int)

    def __init__(self, jobs: PanelJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.coords: np.ndarray | None = None
        self.index: GridIndex | None = None
        self.marked = np.zeros(0, dtype=np.int64)  # B rows of A's selection
        self.colouring: Colouring | None = None  # what the main map is coloured by, for B
        self.marks: NeighbourMarks | None = None  # the main map's neighbour marks, at B rows
        self.hover = -1
        self.plot = MapCanvas()
        self.plot.setMinimumSize(160, 120)
        self.viewbox = self.plot.viewbox
        self.plot.setToolTip(f"Set B's map. {CLICK_HELP}; the items joined to A are selected "
                             "there and on the main map")
        self.title = QLabel()
        self.note = wrapping(QLabel())
        self.note.setStyleSheet(DIM_STYLE)
        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        tools.addWidget(self.title, 1)
        self.tool_group = QButtonGroup(self)
        for key, text, tip in TOOLS:
            button = QToolButton(text=text, checkable=True, toolTip=tip)
            button.setChecked(key == "pan")
            button.setProperty("tool", key)
            self.tool_group.addButton(button)
            tools.addWidget(button)
        self.tool_group.buttonClicked.connect(
            lambda b: setattr(self.viewbox, "tool", b.property("tool")))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        self._timer = QTimer(self, singleShot=True, interval=40)
        self._timer.timeout.connect(self.render)
        self.viewbox.sigRangeChanged.connect(lambda *_: self._timer.start())
        self.viewbox.sigResized.connect(lambda *_: self._timer.start())
        self.viewbox.clicked.connect(self._clicked)
        self.viewbox.shapeFinished.connect(self._shape)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.show_layout(None, "")

    # --- what is shown --------------------------------------------------------------
    def show_layout(self, coords: np.ndarray | None, message: str, note: str = "") -> None:
        """B's layout (None: `message` in its place, "Computing PCA…")."""
        self.coords = None if coords is None else np.asarray(coords[:, :2])
        self.index = None if coords is None else GridIndex(self.coords)
        self.note.setText(note)
        self.plot.show_hover(None)
        self.plot.draw_marks(self.marks, self.coords)
        if self.coords is None:
            self.plot.clear_images()
            self.plot.show_message(message)
            return
        self.plot.show_message("")
        finite = self.coords[np.isfinite(self.coords).all(axis=1)]
        if len(finite):
            lo, hi = finite.min(axis=0), finite.max(axis=0)
            self.plot.show_box((lo[0], lo[1], max(hi[0] - lo[0], 1e-9),
                                max(hi[1] - lo[1], 1e-9)), padding=0.03)
        self.render()

    def set_marked(self, rows_b: np.ndarray) -> None:
        """The B rows of A's selection, drawn as the main map draws a selection."""
        self.marked = np.unique(np.asarray(rows_b, dtype=np.int64))
        self._timer.start()

    def set_colouring(self, colouring: Colouring | None) -> None:
        """Colour B's points as the main map colours A's (same palette for the same values)."""
        self.colouring = colouring
        self._timer.start()

    def set_marks(self, marks: NeighbourMarks | None) -> None:
        """A neighbour search's query and neighbours (B rows), drawn as the main map draws
        them."""
        self.marks = marks
        self.plot.draw_marks(marks, self.coords)

    def set_hover(self, row_b: int) -> None:
        self.hover = row_b
        ok = self.coords is not None and 0 <= row_b < len(self.coords)
        self.plot.show_hover(self.coords[row_b] if ok else None)

    def render(self) -> None:
        self._timer.stop()
        if self.coords is None:
            return
        view = self.viewbox.viewRect()
        ratio = self.devicePixelRatioF()
        w = max(1, int(self.viewbox.width() * ratio))
        h = max(1, int(self.viewbox.height() * ratio))
        mx, my = view.width() * MARGIN, view.height() * MARGIN
        rect = (view.left() - mx, view.right() + mx, view.top() - my, view.bottom() + my)
        layers = Layers(coords=self.coords, index=self.index, rect=rect,
                        width=int(w * (1 + 2 * MARGIN)), height=int(h * (1 + 2 * MARGIN)),
                        colouring=self.colouring, values=None, hidden=frozenset(), radius=POINT_SIZE,
                        selection=self.marked, matches=None, sorted_cache={},
                        dark=self.plot.dark())
        coords = self.coords
        self.jobs.submit("other-render", "Drawing set B's map", render_layers, layers,
                         on_done=lambda result: self._rendered(result, rect, coords))

    def _rendered(self, result: tuple, rect: tuple, coords: np.ndarray) -> None:
        if coords is self.coords:  # not a layout since replaced
            base, overlay, _mode = result
            self.plot.show_images(base, overlay, rect)

    # --- gestures -------------------------------------------------------------------
    def row_at(self, x: float, y: float) -> int:
        if self.index is None:
            return -1
        px = self.viewbox.viewPixelSize()
        return self.index.nearest(x, y, HOVER_PX * max(px[0], px[1]))

    def _clicked(self, x: float, y: float, modifiers) -> None:
        row = self.row_at(x, y)
        mode = click_mode(modifiers)
        if row >= 0:
            self.picked.emit(np.array([row], dtype=np.int64), mode)
        elif mode is SelectMode.REPLACE and self.index is not None:
            self.picked.emit(np.zeros(0, dtype=np.int64), mode)

    def _shape(self, tool: str, xs: np.ndarray, ys: np.ndarray, modifiers) -> None:
        if self.index is None:
            return
        if tool == "box":
            rows = self.index.in_box(float(xs.min()), float(ys.min()), float(xs.max()),
                                     float(ys.max()))
        else:
            rows = self.index.in_polygon(xs, ys)
        self.picked.emit(rows, shape_mode(modifiers))

    def _mouse_moved(self, scene_pos) -> None:
        if self.index is None or not self.viewbox.sceneBoundingRect().contains(scene_pos):
            return
        p = self.viewbox.mapSceneToView(scene_pos)
        row = self.row_at(p.x(), p.y())
        if row != self.hover:
            self.hovered.emit(row)
