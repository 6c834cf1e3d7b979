"""The window's default layout: the map is the page, panels around it read, wide analyses
get room when brought forward, and the user's layout is kept per screen size."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from explorer.core.library import Library
from explorer.ui import settings as ui_settings
from explorer.ui.main_window import MainWindow

SIZES = [(1400, 900), (1920, 1080)]


@pytest.fixture
def make(qtbot, explorer_home):
    made = []

    def make_window(size=(1400, 900), restore=False) -> MainWindow:
        win = MainWindow(Library(explorer_home), restore=restore)
        qtbot.addWidget(win)
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        qtbot.wait(50)
        made.append(win)
        return win

    yield make_window
    for win in made:
        win.jobs.shutdown()


def shares(win) -> dict[str, float]:
    area = win.width() * win.height()
    return {key: r.width() * r.height() / area
            for key, r in win.dock_layout.panel_rects(win.panels).items()}


def settle(qtbot, win, key):
    """Wait until the bottom area stopped resizing after `key` came forward."""
    sizes = []

    def still() -> bool:
        sizes.append(win.dock_layout.panel_rects(win.panels).get(key))
        return len(sizes) > 3 and sizes[-1] is not None and sizes[-1] == sizes[-3]

    qtbot.waitUntil(still, timeout=5000)


@pytest.mark.parametrize("size", SIZES)
def test_the_map_is_the_page_and_docks_read(make, size):
    win = make(size)
    assert win.centralWidget() is win.map_view and "map" not in win.docks
    rects = win.dock_layout.panel_rects(win.panels)
    assert set(rects) == {"map", "library", "item", "table"}  # the rest are tabs behind
    assert shares(win)["map"] >= 0.45
    for key, rect in rects.items():
        assert rect.width() >= 320, key
    assert rects["library"].height() < 0.15 * size[1]  # a few rows, not a third
    assert rects["item"].left() == rects["library"].left() == 0


@pytest.mark.parametrize("size", SIZES)
def test_compression_gets_room_and_gives_it_back(qtbot, make, size):
    win = make(size)
    before = shares(win)
    win.show_view("compression")
    settle(qtbot, win, "compression")
    now = shares(win)
    assert now["compression"] >= 0.35 and "table" not in now
    assert now["map"] >= 0.2  # still in view
    win.show_view("table")
    settle(qtbot, win, "table")
    assert shares(win)["table"] == pytest.approx(before["table"], abs=0.01)


def test_reset_layout_restores_the_defaults(qtbot, make):
    win = make()
    default = {k: r.getRect() for k, r in win.dock_layout.panel_rects(win.panels).items()}
    win.docks["library"].hide()
    win.docks["table"].setFloating(True)
    win.resizeDocks([win.docks["item"]], [700], Qt.Orientation.Horizontal)
    reset = next(a for a in win.findChildren(QAction) if a.objectName() == "resetLayoutAction")
    reset.trigger()
    qtbot.waitUntil(lambda: {k: r.getRect() for k, r in
                             win.dock_layout.panel_rects(win.panels).items()} == default,
                    timeout=5000)


def test_layout_is_remembered_per_screen_size(make):
    first = make(restore=True)
    first.docks["library"].hide()
    first.close()
    key = first.dock_layout.screen_key()
    s = ui_settings.settings()
    assert s.value(f"window/state/{key}") is not None
    assert s.value("window/state/123x45") is None
    second = make(restore=True)
    assert not second.docks["library"].isVisible()
    s.remove(f"window/state/{key}")  # another screen size: the default layout
    third = make(restore=True)
    assert third.docks["library"].isVisible()


def test_views_and_shortcuts_still_reach_every_panel(make):
    win = make()
    for key in ("neighbours", "concepts", "compression", "table", "item", "library"):
        win.show_view(key)
        assert key in win.dock_layout.panel_rects(win.panels), key
    win.show_view("map")  # the centre: nothing to raise, always in view
    toggles = {a.text() for a in win.menuBar().actions()[2].menu().actions()}
    assert {"Library", "Item", "Neighbours", "Concepts", "Table", "Compression",
            "Go to Map", "Reset Layout"} <= {t.replace("&", "") for t in toggles}


def test_the_untouched_default_follows_the_window_until_the_user_moves_a_splitter(qtbot, make):
    win = make((1400, 900))
    win.resize(1920, 1080)  # maximised after the first show, as a window manager does
    qtbot.waitUntil(lambda: win.docks["item"].width() == int(0.3 * 1920), timeout=5000)
    qtbot.waitUntil(lambda: shares(win)["map"] >= 0.45, timeout=5000)
    win.resizeDocks([win.docks["item"]], [450], Qt.Orientation.Horizontal)  # the user's drag
    qtbot.waitUntil(lambda: win.docks["item"].width() == 450, timeout=5000)
    win.resize(1600, 1000)
    qtbot.wait(100)
    assert win.docks["item"].width() == 450


def test_a_first_window_grows_with_a_big_screen_and_keeps_its_size_on_a_small_one():
    from PySide6.QtCore import QRect

    from explorer.ui.layout import FIRST_SIZE, first_geometry

    big = first_geometry(QRect(0, 30, 1920, 1050))  # a panel above the free area
    assert (big.width(), big.height()) == (1728, 945)
    assert big.center().x() in (959, 960) and big.top() == 30 + (1050 - 945) // 2
    wide = first_geometry(QRect(1920, 0, 2560, 1440))  # a second screen
    assert wide.left() >= 1920 and wide.right() < 1920 + 2560 and wide.width() == 2304
    assert first_geometry(QRect(0, 0, *FIRST_SIZE)) is None  # the window it always had
    assert first_geometry(QRect(0, 0, 1366, 768)) is None  # smaller: left to the system
