"""The selection keys on the map, driven through the plot with real mouse events: a click
replaces, Shift adds, Ctrl toggles; a box or lasso replaces, Shift adds, Ctrl takes away;
a right-click opens the item's menu and never changes the selection, not even during a
lasso; Ctrl+A selects what the map shows and Escape clears it."""

import numpy as np
import pyarrow as pa
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.panels.map.controls import MapToolbar
from explorer.ui.selection_gestures import CLICK_HELP, SHAPE_HELP
from explorer.ui.state import FilterPart

SIDE = 12  # the set is a SIDE x SIDE grid, one unit apart: row r sits at (r % SIDE, r // SIDE)
XY = np.array([(r % SIDE, r // SIDE) for r in range(SIDE * SIDE)], dtype=np.float32)
HALVES = np.where(XY[:, 0] < SIDE / 2, "west", "east")
START = [13, 14]  # the selection each gesture starts from
SELECTED, UNSELECTED = 13, 40
EMPTY = (5.5, 5.5)  # between four points
NO_KEY, SHIFT, CTRL = (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier,
                       Qt.KeyboardModifier.ControlModifier)
LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton


@pytest.fixture
def library(explorer_home) -> Library:
    lib = Library(explorer_home)
    lib.import_set(EmbeddingSet(XY, pa.table({"id": [f"g{i}" for i in range(len(XY))],
                                              "half": HALVES}),
                                name="grid", format="test", id_column="id"))
    return lib


@pytest.fixture
def view(qtbot, windows):
    """The map of the grid, zoomed so the points are 30+ px apart, labels off."""
    window = windows()
    window.resize(1200, 800)
    window.show_view("map")
    view = window.map_view
    with qtbot.waitSignal(view.renderFinished, timeout=60000):
        window.open_library_set("grid")
    qtbot.waitUntil(lambda: view.index is not None, timeout=30000)
    view.toolbar.labels.setChecked(False)  # a click on a cluster's name selects the cluster
    view.viewbox.setRange(QRectF(-1, -1, SIDE + 1, SIDE + 1), padding=0)
    window.state.select(START)
    yield view
    popup = QApplication.activePopupWidget()
    if popup is not None:
        popup.close()


def at(view, x: float, y: float) -> QPoint:
    """The plot's viewport pixel of map point (x, y)."""
    return view.plot.mapFromScene(view.viewbox.mapViewToScene(QPointF(x, y)))


def click(qtbot, view, xy, button=LEFT, keys=NO_KEY) -> None:
    qtbot.mouseClick(view.plot.viewport(), button, keys, at(view, *xy))


def send(view, kind, pos: QPoint, button, buttons, keys) -> None:
    local = QPointF(pos)
    glob = QPointF(view.plot.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.plot.viewport(),
                           QMouseEvent(kind, local, glob, button, buttons, keys))


def drag(qtbot, view, points, keys=NO_KEY, during=None, button=LEFT) -> None:
    """A drag through map `points`; `during(i, pos)` runs after the i-th move."""
    pixels = [at(view, *p) for p in points]
    send(view, QEvent.Type.MouseButtonPress, pixels[0], button, button, keys)
    for i, pos in enumerate(pixels[1:]):
        qtbot.wait(15)  # pyqtgraph passes on 100 moves a second at most
        send(view, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, button, keys)
        if during is not None:
            during(i, pos)
    send(view, QEvent.Type.MouseButtonRelease, pixels[-1], button, Qt.MouseButton.NoButton,
         keys)


def in_box(x0, y0, x1, y1) -> set[int]:
    inside = (XY[:, 0] >= x0) & (XY[:, 0] <= x1) & (XY[:, 1] >= y0) & (XY[:, 1] <= y1)
    return set(np.flatnonzero(inside).tolist())


def selection(view) -> list[int]:
    return view.state.selection.tolist()


@pytest.mark.parametrize("target, button, keys, expected", [
    (SELECTED, LEFT, NO_KEY, [SELECTED]),
    (UNSELECTED, LEFT, NO_KEY, [UNSELECTED]),
    (SELECTED, LEFT, SHIFT, START),
    (UNSELECTED, LEFT, SHIFT, sorted([*START, UNSELECTED])),
    (SELECTED, LEFT, CTRL, [r for r in START if r != SELECTED]),
    (UNSELECTED, LEFT, CTRL, sorted([*START, UNSELECTED])),
    (SELECTED, RIGHT, NO_KEY, START),
    (UNSELECTED, RIGHT, NO_KEY, START),
    (UNSELECTED, RIGHT, CTRL, START),
    (None, LEFT, NO_KEY, []),
    (None, LEFT, SHIFT, START),
    (None, LEFT, CTRL, START),
    (None, RIGHT, NO_KEY, START),
], ids=["plain-selected", "plain-unselected", "shift-selected", "shift-unselected",
        "ctrl-selected", "ctrl-unselected", "right-selected", "right-unselected",
        "ctrl-right-unselected", "plain-empty", "shift-empty", "ctrl-empty", "right-empty"])
def test_a_click_on_the_map_changes_the_selection_as_its_keys_say(qtbot, view, target, button,
                                                                  keys, expected):
    click(qtbot, view, EMPTY if target is None else XY[target], button, keys)
    assert selection(view) == expected
    if button == RIGHT:  # a menu instead
        qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=5000)


@pytest.mark.parametrize("tool", ["box", "lasso"])
@pytest.mark.parametrize("keys, combine", [
    (NO_KEY, lambda start, shape: shape),
    (SHIFT, lambda start, shape: start | shape),
    (CTRL, lambda start, shape: start - shape),
    (SHIFT | CTRL, lambda start, shape: start & shape),
], ids=["plain", "shift", "ctrl", "shift-ctrl"])
def test_a_box_or_lasso_changes_the_selection_as_its_keys_say(qtbot, view, tool, keys, combine):
    view.toolbar.tool_buttons[tool].click()
    corners = [(0.5, 0.5), (4.5, 0.5), (4.5, 2.5), (0.5, 2.5)]  # rows 13-16, 25-28
    path = [corners[0], corners[2]] if tool == "box" else [*corners, corners[0]]
    drag(qtbot, view, path, keys)
    assert set(selection(view)) == combine(set(START), in_box(0.5, 0.5, 4.5, 2.5))


def test_right_click_on_a_point_opens_its_menu_on_the_selection_it_is_part_of(qtbot, view):
    click(qtbot, view, XY[SELECTED], RIGHT)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=5000)
    menu = QApplication.activePopupWidget()
    assert "right-click" in view.hover_text(SELECTED)  # where the pointer is, the menu is said
    texts = [a.text() for a in menu.actions()]
    assert "Find neighbours of the 2 selected" in texts
    menu.close()
    click(qtbot, view, XY[UNSELECTED], RIGHT)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=5000)
    menu = QApplication.activePopupWidget()
    assert "Find neighbours of this item" in [a.text() for a in menu.actions()]
    asked = []
    view.state.queryRequested.connect(lambda rows: asked.append(rows.tolist()))
    next(a for a in menu.actions() if a.text().startswith("Find neighbours")).trigger()
    assert asked == [[UNSELECTED]] and selection(view) == START


def test_right_click_on_empty_map_offers_the_map_and_selects_nothing(qtbot, view):
    click(qtbot, view, EMPTY, RIGHT)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=5000)
    menu = QApplication.activePopupWidget()
    actions = {a.text().split("\t")[0]: a for a in menu.actions() if not a.isSeparator()}
    assert {"Select all shown", "Clear the selection", "Fit"} <= set(actions)
    assert selection(view) == START
    actions["Clear the selection"].trigger()
    assert selection(view) == []


def test_the_right_button_during_a_lasso_neither_ends_nor_replaces_it(qtbot, view):
    view.toolbar.tool_buttons["lasso"].click()
    corners = [(0.5, 0.5), (4.5, 0.5), (4.5, 2.5), (0.5, 2.5), (0.5, 0.5)]
    inside = in_box(0.5, 0.5, 4.5, 2.5)

    def right_button(i, pos):
        if i == 0:  # a right-click at the first corner
            send(view, QEvent.Type.MouseButtonPress, pos, RIGHT, LEFT | RIGHT, NO_KEY)
            send(view, QEvent.Type.MouseButtonRelease, pos, RIGHT, LEFT, NO_KEY)
        if i == 1:  # and a right drag at the next, half way along the lasso's next side
            send(view, QEvent.Type.MouseButtonPress, pos, RIGHT, LEFT | RIGHT, NO_KEY)
            far = at(view, 2.5, 2.5)
            qtbot.wait(15)
            send(view, QEvent.Type.MouseMove, far, Qt.MouseButton.NoButton, LEFT | RIGHT,
                 NO_KEY)
            send(view, QEvent.Type.MouseButtonRelease, far, RIGHT, LEFT, NO_KEY)

    drag(qtbot, view, corners, during=right_button)
    assert set(selection(view)) == inside  # the whole lasso, once
    assert QApplication.activePopupWidget() is None
    click(qtbot, view, XY[SELECTED], RIGHT)  # after it: a menu, the lasso's selection stays
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=5000)
    assert set(selection(view)) == inside
    QApplication.activePopupWidget().close()
    before = view.viewbox.viewRect()
    drag(qtbot, view, [(3, 3), (5, 4), (7, 5)], button=RIGHT)  # pyqtgraph's zoom
    assert view.viewbox.viewRect() != before and set(selection(view)) == inside
    view.viewbox.setRange(before, padding=0)
    drag(qtbot, view, [(6.5, 6.5), (8.5, 6.5), (8.5, 7.5), (6.5, 7.5)], keys=SHIFT)
    assert set(selection(view)) == inside | {91, 92}  # (7, 7) and (8, 7): lassos go on


def test_a_right_click_during_a_pan_opens_nothing_and_selects_nothing(qtbot, view):
    before = view.viewbox.viewRect()

    def right_click(i, pos):
        if i == 0:
            send(view, QEvent.Type.MouseButtonPress, pos, RIGHT, LEFT | RIGHT, NO_KEY)
            send(view, QEvent.Type.MouseButtonRelease, pos, RIGHT, LEFT, NO_KEY)

    drag(qtbot, view, [XY[UNSELECTED], XY[UNSELECTED] + 1, XY[UNSELECTED] + 2],
         during=right_click)
    assert QApplication.activePopupWidget() is None and selection(view) == START
    assert view.viewbox.viewRect() != before  # the pan went on


@pytest.mark.parametrize("target", [None, UNSELECTED], ids=["empty", "point"])
def test_a_double_click_shows_every_point_and_keeps_the_selection(qtbot, view, target):
    view.viewbox.setRange(QRectF(2, 2, 4, 4), padding=0)
    pos = at(view, *(EMPTY if target is None else XY[target]))
    viewport = view.plot.viewport()
    qtbot.mouseClick(viewport, LEFT, pos=pos)  # what a double click sends
    qtbot.mouseDClick(viewport, LEFT, pos=pos)
    qtbot.mouseRelease(viewport, LEFT, pos=pos)
    qtbot.waitUntil(lambda: view.viewbox.viewRect().width() > SIDE - 1, timeout=5000)
    assert selection(view) == START


def test_escape_drops_a_lasso_being_drawn_then_clears_the_selection(qtbot, view):
    view.toolbar.tool_buttons["lasso"].click()
    view.plot.setFocus()

    def escape(i, _pos):
        if i == 1:
            qtbot.keyClick(view.plot, Qt.Key.Key_Escape)

    drag(qtbot, view, [(0.5, 0.5), (4.5, 0.5), (4.5, 2.5), (0.5, 2.5)], during=escape)
    assert selection(view) == START and not view.viewbox.drawing()
    qtbot.keyClick(view.plot, Qt.Key.Key_Escape)
    assert selection(view) == []
    # nothing left to drop: Escape is the window's again (Cancel Job)
    override = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_Escape, NO_KEY)
    override.ignore()
    QApplication.sendEvent(view.plot, override)
    assert not override.isAccepted()


def hide_east(qtbot, view) -> None:
    """Colour the map by `half` and untick "east" in the legend: those points are not drawn."""
    with qtbot.waitSignal(view.renderFinished, timeout=30000):
        assert view.colour_by("half")
    qtbot.waitUntil(lambda: view.legend.count() == 2, timeout=30000)
    east = next(view.legend.item(i) for i in range(2)
                if view.legend.item(i).text().startswith("east"))
    east.setCheckState(Qt.CheckState.Unchecked)


def test_points_the_legend_hides_are_out_of_reach_of_clicks_and_shapes(qtbot, view):
    hide_east(qtbot, view)
    east, west = 11, 12  # (11, 0) and (0, 1)
    click(qtbot, view, XY[east], keys=SHIFT)
    assert selection(view) == START
    assert view.row_at(*XY[east]) == -1 and view.row_at(*XY[west]) == west  # nor hovered
    click(qtbot, view, XY[east])  # a plain click where nothing is drawn clears
    assert selection(view) == []
    view.toolbar.tool_buttons["box"].click()
    drag(qtbot, view, [(-0.5, -0.5), (SIDE - 0.5, 1.5)])
    assert selection(view) == [r for r in range(2 * SIDE) if HALVES[r] == "west"]


def test_ctrl_a_selects_the_rows_the_map_shows_in_colour(qtbot, view):
    window = view.window()
    west = np.flatnonzero(HALVES == "west")
    window.state.set_filter_part(FilterPart("chart:half", "half: west", "half = 'west'", west))
    view.toolbar.search.setFocus()
    click(qtbot, view, EMPTY, keys=SHIFT)  # a click gives the map the keyboard
    assert view.plot.hasFocus()
    qtbot.keyClick(view.plot, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert selection(view) == west.tolist()  # not the 72 greyed by the filter
    window.state.remove_filter_parts()
    hide_east(qtbot, view)
    window.state.select([])
    qtbot.keyClick(view.plot, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert selection(view) == west.tolist()


def test_the_tools_tell_the_keys(qapp):
    bar = MapToolbar()
    for tool, button in bar.tool_buttons.items():
        assert CLICK_HELP in button.toolTip() and "right-click" in button.toolTip()
        assert (SHAPE_HELP in button.toolTip()) == (tool != "pan")


def test_ctrl_a_in_the_search_box_selects_its_text_not_the_map(qtbot, view):
    search = view.toolbar.search
    search.setText("g1")
    search.setFocus()
    qtbot.keyClick(search, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert search.selectedText() == "g1" and selection(view) == START
