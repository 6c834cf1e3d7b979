"""The map's toolbar (method and its settings, colour, point size, tools, fit, dim, labels,
search, export) and its legend."""

from __future__ import annotations

import html
import re

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMenu, QSizePolicy, QSpinBox, QToolBar,
                               QToolButton, QVBoxLayout, QWidget)

from explorer.compute import raster
from explorer.core.colouring import Colouring
from explorer.ui.maps.remembered import projection_methods
from explorer.ui.panels.map.layout_settings import LayoutSettings
from explorer.ui.panels.map.model import AS_GIVEN, FIDELITY, NO_COLOUR, PLANE, POINT_SIZES
from explorer.ui.selection_gestures import CLICK_HELP, SHAPE_HELP

LEGEND_WIDTH = 220  # what the legend asks for beside the map (it may be dragged from 120 to 320)
LEGEND_LABEL_CHARS = 80  # a free-text value is cut here in the list; its tooltip holds it all
POINT_HELP = f"{CLICK_HELP} · right-click: the point's menu"
DRAW_HELP = f"{SHAPE_HELP} · Esc drops the shape"
TOOLS = (("pan", "Pan", "P", f"Drag to pan, wheel to zoom<br>{POINT_HELP}"),
         ("box", "Box", "B", f"Drag a rectangle to select: {DRAW_HELP}<br>{POINT_HELP}"),
         ("lasso", "Lasso", "L", f"Draw around points to select: {DRAW_HELP}<br>{POINT_HELP}"))


class MethodCombo(QComboBox):
    """The projection methods, read from the plugin registry whenever the list opens."""

    def __init__(self) -> None:
        super().__init__()
        self.setToolTip("How the vectors are placed in 2-D; results are cached in the library")
        self.setPlaceholderText(AS_GIVEN)  # shown for a set mapped by its own coordinates
        self.refresh()

    def refresh(self) -> None:
        """Offer the methods registered now (plugins may have come since), then the plane."""
        current = self.currentText()
        titles = [*projection_methods(), PLANE]
        if [self.itemText(i) for i in range(self.count())] == titles:
            return
        self.blockSignals(True)
        self.clear()
        self.addItems(titles)
        self.setItemData(len(titles) - 1, "Two concept directions as the x and y axes: each "
                         "item sits at its scores along them (choose them in Concepts)",
                         Qt.ItemDataRole.ToolTipRole)
        if current in titles:
            self.setCurrentText(current)
        self.blockSignals(False)

    def showPopup(self) -> None:
        self.refresh()
        super().showPopup()

    def chosen(self) -> str | None:
        """The method chosen, or None for the concept plane (or a method gone since)."""
        return projection_methods().get(self.currentText())

    def show_method(self, method: str) -> None:
        """Show `method` as chosen, if the menu offers it."""
        self.refresh()
        title = next((t for t, m in projection_methods().items() if m == method), "")
        if title:
            self.setCurrentText(title)
        elif method == "identity":  # not a menu entry: the placeholder says it
            self.setCurrentIndex(-1)


class ColourCombo(QComboBox):
    """No colour, the set's columns, values other panels derived, then the map's fidelity."""

    def __init__(self) -> None:
        super().__init__()
        self.setToolTip("Colour points by a metadata column, or by how faithful the map is")
        # long column names must not make the whole map (and its dock) wide
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(6)

    def fill(self, columns: list[str], derived: list[str]) -> None:
        self.clear()
        self.addItem(NO_COLOUR)
        self.addItems(columns)
        self.addItems(derived)
        self.addItem(FIDELITY)

    def offer(self, name: str) -> bool:
        """Offer derived values `name` (before fidelity, which stays last); True when they
        were offered already and are the colouring chosen (so it is shown again)."""
        if self.findText(name) >= 0:
            return self.currentText() == name
        fidelity = self.findText(FIDELITY)
        self.insertItem(fidelity if fidelity >= 0 else self.count(), name)
        return False

    def withdraw(self, name: str) -> bool:
        """Stop offering `name`; True when it was chosen (the menu is back at no colour)."""
        at = self.findText(name)
        if at < 0:
            return False
        chosen = self.currentText() == name
        self.removeItem(at)
        if chosen:
            self.setCurrentIndex(0)
        return chosen


class LabelsButton(QToolButton):
    """Labels on or off (the button), and what names the clusters (its menu: the set's text
    column, or another column the user picks)."""

    columnChosen = Signal(object)  # a column name, or None for the set's text column

    def __init__(self) -> None:
        super().__init__(text="Labels", checkable=True, checked=True)
        self.setToolTip("Name the map's clusters on it: coarse names on the whole map, finer "
                        "ones as you zoom in; click a name to select its cluster")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.setMenu(QMenu(self))
        self.group = QActionGroup(self)
        self.fill([])

    def fill(self, columns: list[str], chosen: str | None = None) -> None:
        """Offer to name the clusters by the set's text column (the default) or `columns`."""
        menu = self.menu()
        menu.clear()
        menu.addSection("Name clusters by")
        for column in [None, *columns]:
            action = menu.addAction("the text column" if column is None else column)
            action.setCheckable(True)
            action.setChecked(column == chosen)
            self.group.addAction(action)
            action.triggered.connect(lambda _c=False, col=column: self.columnChosen.emit(col))

    def show_enabled(self, on: bool) -> None:
        """Show the labels as on or off (the method's default), without a toggle signal."""
        self.blockSignals(True)
        self.setChecked(on)
        self.blockSignals(False)

    def show_column(self, column: str | None) -> None:
        """Tick `column` in the menu (the labels job chose it: the set has no text column)."""
        label = "the text column" if column is None else column
        for action in self.group.actions():
            action.setChecked(action.text() == label)


class MapToolbar(QWidget):
    """The row above the map. The panel connects to its widgets and signals."""

    toolChosen = Signal(str)
    fitRequested = Signal()
    allRequested = Signal()
    exportRequested = Signal(str)  # "selection", "coordinates" or "view"
    selectAllRequested = Signal()
    clearRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = MethodCombo()
        self.layout_settings = LayoutSettings()
        self.colour = ColourCombo()
        self.size = QSpinBox()
        self.size.setRange(*POINT_SIZES)
        self.size.setValue(2)
        self.size.setPrefix("size ")
        self.size.setToolTip("Point radius in pixels once points are drawn one by one")
        self.tool_buttons: dict[str, QToolButton] = {}
        for key, label, shortcut, tip in TOOLS:
            button = QToolButton(text=label, checkable=True, autoExclusive=True)
            button.setToolTip(f"<b>{label}</b> ({shortcut}): {tip}")
            button.setShortcut(QKeySequence(shortcut))
            button.clicked.connect(lambda _c, k=key: self.toolChosen.emit(k))
            self.tool_buttons[key] = button
        self.tool_buttons["pan"].setChecked(True)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Highlight items containing…")
        self.search.setMinimumWidth(50)
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Matching items are drawn in orange with a white halo, above "
                               "everything else on the map")
        export = QToolButton(text="Export")
        export.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(export)
        for what, label in (("selection", "Selection as CSV / Parquet…"),
                            ("coordinates", "Coordinates as Parquet…"),
                            ("view", "View as PNG / SVG…")):
            menu.addAction(label, lambda w=what: self.exportRequested.emit(w))
        export.setMenu(menu)
        self.fit_action = fit = QAction("Fit", self, shortcut=QKeySequence("Home"))
        fit.setToolTip("Show the bulk of the map, 99% of the points on each axis (Home); "
                       "double-click the map or View all for the outliers too")
        fit.triggered.connect(self.fitRequested)
        self.view_all = QAction("View all, outliers too", self,
                                shortcut=QKeySequence("Shift+Home"))
        self.view_all.triggered.connect(self.allRequested)
        fit_button = QToolButton()
        fit_button.setDefaultAction(fit)
        fit_menu = QMenu(fit_button)
        fit_menu.addAction(fit)
        fit_menu.addAction(self.view_all)
        fit_button.setMenu(fit_menu)
        fit_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.addAction(self.view_all)  # its shortcut works while the map has the focus
        self.dim = QToolButton(text="Dim", checkable=True)
        self.dim.setToolTip("Fade the map while neighbours are marked on it, so their rings "
                            "stand out; off, every colouring stays as it is")
        self.labels = LabelsButton()

        # A tool bar, not a row of widgets: when the map is narrow (a small window, a wide
        # left column) what does not fit moves behind its » button instead of making the
        # window wider than the screen or the size asked for.
        bar = QToolBar()
        bar.setIconSize(QSize(16, 16))
        placed = {widget: bar.addWidget(widget) for widget in (
            self.method, self.layout_settings, self.colour, self.size,
            *self.tool_buttons.values(), fit_button, self.dim, self.labels, self.search, export)}
        # in a tool bar a widget is shown and hidden through its action
        settings = placed[self.layout_settings]
        self.method.currentTextChanged.connect(
            lambda _t: settings.setVisible(self.layout_settings.offered(self.method.chosen())))
        settings.setVisible(self.layout_settings.offered(self.method.chosen()))
        for stretchy in (self.colour, self.search):
            stretchy.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(bar)

    def choose_tool(self, tool: str) -> None:
        self.tool_buttons[tool].setChecked(True)

    def map_menu(self, parent: QWidget, has_selection: bool) -> QMenu:
        """What a right-click on empty map offers: the selection's keys and the view's.
        It deletes itself once closed; the shared actions (Fit, View all) stay."""
        menu = QMenu(parent)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        native = QKeySequence.SequenceFormat.NativeText  # the panel's eventFilter takes them
        select_all = QKeySequence(QKeySequence.StandardKey.SelectAll).toString(native)
        escape = QKeySequence(Qt.Key.Key_Escape).toString(native)
        menu.addAction(f"Select all shown\t{select_all}",
                       lambda: self.selectAllRequested.emit()).setToolTip(
            "Every point the filter lets through, in a category the legend shows")
        menu.addAction(f"Clear the selection\t{escape}",
                       lambda: self.clearRequested.emit()).setEnabled(has_selection)
        menu.addSeparator()
        menu.addAction(self.fit_action)
        menu.addAction(self.view_all)
        menu.setToolTipsVisible(True)
        return menu


def breakable(text: str) -> str:
    """`text` as rich text that may wrap inside a long name (after `_`, `.`, `/` and
    every 20 characters of a word), so a header wraps instead of being cut off."""
    words = []
    for word in text.split(" "):
        pieces = [p[i:i + 20] for p in re.split(r"(?<=[_./])", word)
                  for i in range(0, len(p), 20)]
        words.append("\u200b".join(html.escape(p) for p in pieces))
    return " ".join(words)


class Legend(QWidget):
    """Beside the map: the column coloured by, its categories (tick to show) or its scale,
    and a note when the colouring leaves something out."""

    toggled = Signal(int, bool)  # category code, shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(120)
        self.setMaximumWidth(320)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.items = QListWidget()
        self.items.setToolTip("Untick a category to hide it on the map")
        self.items.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keeps the count at the end
        self.items.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.items.itemChanged.connect(self._item_changed)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: gray;")
        self.colour_bar = QLabel()
        self.colour_bar.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.note)
        layout.addWidget(self.items, 1)
        layout.addWidget(self.colour_bar)
        layout.addStretch(0)
        self.clear()

    def sizeHint(self) -> QSize:
        """Room for a category name and its count when the window is first laid out."""
        return QSize(LEGEND_WIDTH, super().sizeHint().height())

    def clear(self) -> None:
        # the legend itself stays: hiding it would resize the map on every new colouring
        self.title.clear()
        self.title.hide()
        self.note.clear()
        self.note.hide()
        self.items.blockSignals(True)
        self.items.clear()
        self.items.blockSignals(False)
        self.items.hide()
        self.colour_bar.clear()

    def show_categories(self, colouring: Colouring, palette: np.ndarray,
                        hidden: set[str], names: dict[str, str] | None = None) -> set[int]:
        """List `colouring`'s categories with their swatches; those named in `hidden`
        start unticked; `names` shows some labels otherwise ("(no cluster)" for rows in no
        cluster). Returns their codes."""
        self.clear()
        self.show_title(colouring.column)
        codes = set()
        self.items.blockSignals(True)
        for code, (label, count) in enumerate(zip(colouring.labels, colouring.counts)):
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(*[int(v) for v in palette[code][:3]]))
            shown = (names or {}).get(label, label)
            text = " ".join(str(shown).split())  # one line, whatever the value holds
            short = text if len(text) <= LEGEND_LABEL_CHARS else text[:LEGEND_LABEL_CHARS] + "…"
            item = QListWidgetItem(QIcon(swatch), f"{short}  ({count:,})")
            item.setToolTip(f"{shown}  ({count:,})")
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            hide = str(label) in hidden
            item.setCheckState(Qt.CheckState.Unchecked if hide else Qt.CheckState.Checked)
            if hide:
                codes.add(code)
            self.items.addItem(item)
        self.items.blockSignals(False)
        self.items.show()
        return codes

    def show_scale(self, title: str, vmin: float, vmax: float, note: str = "") -> None:
        """A colour bar from `vmin` to `vmax` under `title`."""
        self.clear()
        stops = ", ".join(
            f"stop:{i / 4:.2f} rgb{tuple(int(v) for v in raster.VIRIDIS[int(i * 63.75)][:3])}"
            for i in range(5))
        self.colour_bar.setText(
            f"<b>{breakable(title)}</b><div style='height:12px; background: qlineargradient(x1:0, y1:0, "
            f"x2:1, y2:0, {stops})'>&nbsp;</div>"
            f"<table width='100%'><tr><td>{vmin:.3g}</td><td align='right'>{vmax:.3g}</td>"
            "</tr></table>"
            + (f"<span style='color:gray'>{html.escape(note)}</span>" if note else ""))

    def show_title(self, title: str) -> None:
        self.title.setText(f"<b>{breakable(title)}</b>")
        self.title.setToolTip(title)
        self.title.show()

    def show_note(self, text: str) -> None:
        """A sentence under the title: what the colouring leaves out, or why it failed."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _item_changed(self, item: QListWidgetItem) -> None:
        self.toggled.emit(item.data(Qt.ItemDataRole.UserRole),
                          item.checkState() == Qt.CheckState.Checked)
