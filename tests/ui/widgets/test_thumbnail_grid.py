"""The list-or-grid switch: the neighbour list as a grid of thumbnails, one choice per panel,
kept by sessions, and the list whenever the set has no thumbnails."""

import pytest
from pictures import MISSING, WAIT, open_pictures, store_pictures
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel


@pytest.fixture
def library(explorer_home, tmp_path):
    return store_pictures(explorer_home, tmp_path / "pictures")


def neighbours_of(qtbot, window, row: int):
    nview = window.neighbours_view
    window.show_view("neighbours")
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        window.state.set_current(row)
        nview.find_for_current()
    return nview


def test_neighbour_grid_shows_a_cell_per_neighbour(qtbot, windows, tmp_path):
    window = open_pictures(qtbot, windows, tmp_path / "pictures")
    nview = neighbours_of(qtbot, window, 4)
    switch = nview.list_switch
    assert switch.stack.currentWidget() is nview.table
    switch.button.click()
    assert switch.grid_on and switch.stack.currentWidget() is switch.grid
    model = switch.grid.grid_model
    rows = nview.model.rows.tolist()
    assert model.rowCount() == len(rows) == nview.k.value()
    for i, row in enumerate(rows):
        icon = model.data(model.index(i), Qt.ItemDataRole.DecorationRole)
        assert isinstance(icon, QPixmap) and not icon.isNull()
        same = window.state.thumbnails.pixmap(row)
        assert (same is None) == bool(MISSING[row])  # a placeholder for a missing file
    assert model.data(model.index(0), Qt.ItemDataRole.DisplayRole) == f"p{rows[0]}"
    # the hub lists follow the panel's one choice
    assert all(s.grid_on for s in nview.hubness_tab.grid_switches)

    # a click on a cell is the list's click: that item becomes the query
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        switch.grid.rowClicked.emit(rows[2])
    assert window.state.current == rows[2]

    assert window.panels["neighbours"].settings()["grid"] is True
    switch.set_grid(False)
    notes = window.panels["neighbours"].apply_settings({"grid": True})
    assert notes == [] and switch.grid_on
    assert window.panels["neighbours"].apply_settings({"grid": "yes"}) == [
        "neighbours: grid 'yes' is not true or false"]


def test_without_thumbnails_the_list_stays_and_says_how(qtbot, windows, tmp_path):
    window = open_pictures(qtbot, windows, tmp_path / "pictures", build=False)
    nview = neighbours_of(qtbot, window, 4)
    switch = nview.list_switch
    switch.button.click()  # chosen, but nothing to show: the list, and the way to pictures
    assert switch.grid_on and switch.stack.currentWidget() is nview.table
    assert "View ▸ Images…" in switch.button.toolTip()
    assert "holds the items' images" in window.state.thumbnails.offer


def test_cells_carry_the_list_s_shading_and_the_selection(qtbot):
    """A list's kept/lost/new tint becomes the cell's tint and frame; selected items are
    framed in the selection's colour (painted, looked up by binary search)."""
    import numpy as np
    from PySide6.QtGui import QBrush, QColor

    from explorer.ui.state import AppState
    from explorer.ui.widgets.ranked_table import Column, RowsTable
    from explorer.ui.widgets.thumbnail_grid import SELECTED, SELECTED_ROLE, ListOrGrid

    state = AppState()
    table = RowsTable()
    lost = QColor(220, 60, 60, 70)
    switch = ListOrGrid.of_table(table, state)
    table.rows_model.set_content(np.array([5, 6, 7]), [Column("item", lambda i: f"r{i}")],
                                 background={1: QBrush(lost)})
    model = switch.grid.grid_model
    assert model.data(model.index(1), Qt.ItemDataRole.BackgroundRole) == lost
    assert model.data(model.index(0), Qt.ItemDataRole.BackgroundRole) is None
    state.select(np.arange(1, 1_000_001, 2))  # half a million rows, odd ones: 5 and 7
    assert [model.data(model.index(i), SELECTED_ROLE) for i in range(3)] == [True, False, True]

    grid = switch.grid
    qtbot.addWidget(grid)
    grid.resize(400, 200)
    grid.show()
    qtbot.waitExposed(grid)
    image = grid.viewport().grab().toImage()
    cell = grid.visualRect(model.index(1))
    frame = image.pixelColor(cell.left() + 2, cell.center().y())
    assert (frame.red(), frame.green(), frame.blue()) == (220, 60, 60)
    plain = grid.visualRect(model.index(0))
    assert image.pixelColor(plain.left() + 2, plain.center().y()) != frame
    top = grid.visualRect(model.index(2)).top() + 4 - 1  # the picture's frame, above it
    x = grid.visualRect(model.index(2)).center().x()
    assert image.pixelColor(x, top).rgb() == SELECTED.rgb()
    state.select([6])
    assert [model.data(model.index(i), SELECTED_ROLE) for i in range(3)] == [False, True, False]


def test_a_titled_list_puts_its_title_on_the_grid_switch_s_line(qtbot):
    """The title shares the Grid button's row: a list in a short dock keeps that row for items."""
    from explorer.ui.state import AppState
    from explorer.ui.widgets.ranked_table import RowsTable
    from explorer.ui.widgets.thumbnail_grid import ListOrGrid

    switch = ListOrGrid.of_table(RowsTable(), AppState(), title="Top hubs")
    qtbot.addWidget(switch)
    switch.resize(300, 200)
    switch.show()
    qtbot.waitExposed(switch)
    title = next(label for label in switch.findChildren(QLabel) if "Top hubs" in label.text())
    assert title.isVisible()
    assert abs(title.geometry().center().y() - switch.button.geometry().center().y()) <= 2
    assert title.geometry().right() < switch.button.geometry().left()
    assert switch.stack.geometry().top() >= switch.button.geometry().bottom()
