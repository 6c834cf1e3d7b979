"""The window's layout: the map is the page, every other panel a dock around it.

Docks are placed from the panels' default areas (`Panel.area`) in the window's panel
order: the left column holds its first panel (the library) above the others, tabbed;
the bottom area tabs its panels, the first (the table) in front as a strip. A wide
analysis tabbed there (compression) gets room when brought forward, and the strip gives
it back. Sizes follow the window's size; the user's layout is remembered per screen
size (`window/state/1400x900`), and View ▸ Reset Layout rebuilds the default.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QObject, QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabWidget

from explorer.ui import settings as ui_settings
from explorer.ui.panels.base import Area, Panel

LAYOUT_VERSION = 2  # saveState()'s version: a layout of the old all-docks window is not restored
DOCK_AREAS = {Area.LEFT: Qt.DockWidgetArea.LeftDockWidgetArea,
              Area.RIGHT: Qt.DockWidgetArea.RightDockWidgetArea,
              Area.BOTTOM: Qt.DockWidgetArea.BottomDockWidgetArea}
MIN_PANEL_WIDTH, MIN_PANEL_HEIGHT = 200, 80  # px
MIN_DOCK_WIDTH = 340  # px: lists of neighbours, hubs and concepts read at this width
MAX_DOCK_WIDTH = 580  # px: wider only takes from the map
SIDE_SHARE = 0.3  # of the window's width, for the left (and right) column
LIBRARY_SHARE = 0.2  # of the left column's height at most, for its first panel (the library)
STRIP_SHARE = 0.25  # of the window's height, for the bottom area when the table is in front
ANALYSIS_SHARE = 0.37  # of the window's area, for a wide analysis brought forward
MAX_BOTTOM_SHARE = 0.62  # of the window's height: the map keeps the rest
STRIP_PANELS = frozenset({"table"})  # bottom panels that read as a strip; others are analyses

FIRST_SIZE = (1400, 900)  # px: a first window, before any layout was kept for the screen ...
SCREEN_SHARE = 0.9  # ... or this share of a bigger screen, so the map grows with the screen


def first_geometry(free: QRect) -> QRect | None:
    """Where a first window goes on a screen whose free area is `free`: SCREEN_SHARE of it,
    centred, when that is bigger than FIRST_SIZE and fits (None: FIRST_SIZE, as before)."""
    width = max(FIRST_SIZE[0], int(SCREEN_SHARE * free.width()))
    height = max(FIRST_SIZE[1], int(SCREEN_SHARE * free.height()))
    if width > free.width() or height > free.height() or (width, height) == FIRST_SIZE:
        return None
    return QRect(free.x() + (free.width() - width) // 2,
                 free.y() + (free.height() - height) // 2, width, height)


class DockLayout(QObject):
    """Builds, sizes, remembers and restores the docks of one window."""

    def __init__(self, window: QMainWindow, panels: dict[str, Panel]) -> None:
        super().__init__(window)
        self.window = window
        # the first centre panel (the map) is the page; every other panel is a dock
        self.centre: Panel | None = next(
            (p for p in panels.values() if p.area is Area.CENTRE), None)
        self.areas: dict[str, Area] = {}
        self.docks: dict[str, QDockWidget] = {}
        window.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        for key, panel in panels.items():
            if panel is not self.centre:
                self.areas[key] = Area.RIGHT if panel.area is Area.CENTRE else panel.area
                dock = QDockWidget(panel.title, window)
                dock.setObjectName(f"dock-{key}")
                # a panel's own minimum size (of a tab behind the table, say) never forces
                # the map to give way or the window to grow; squeezed further, it is cut off
                panel.setMinimumSize(MIN_PANEL_WIDTH, MIN_PANEL_HEIGHT)
                dock.setWidget(panel)
                dock.visibilityChanged.connect(lambda shown, k=key: self._dock_shown(k, shown))
                self.docks[key] = dock
        self.grown_from: int | None = None  # bottom height before an analysis grew it
        self.placing = False  # the layout is being built or restored: nothing grows
        self.sized = False  # default sizes wait for the window's first show, which knows its size
        # while the default layout is untouched it follows the window's size (a window shown
        # at 1400x900 and then maximised gets the maximised defaults): the sizes it set
        self.following: dict[str, int] | None = None

    def keys(self, area: Area) -> list[str]:
        return [key for key in self.docks if self.areas[key] is area]

    def reset(self) -> None:
        """Every dock back in its default area, tabbed as built, sized for the window."""
        window = self.window
        self.placing = True
        window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        for dock in self.docks.values():
            dock.setFloating(False)
            window.removeDockWidget(dock)
        for area in (Area.LEFT, Area.RIGHT, Area.BOTTOM):
            keys = self.keys(area)
            head, tabbed = (keys[:1], keys[1:]) if area is Area.LEFT else ([], keys)
            for key in head + tabbed[:1]:
                window.addDockWidget(DOCK_AREAS[area], self.docks[key])
            if head and tabbed:
                window.splitDockWidget(self.docks[head[0]], self.docks[tabbed[0]],
                                       Qt.Orientation.Vertical)
            for key in tabbed[1:]:
                window.tabifyDockWidget(self.docks[tabbed[0]], self.docks[key])
            for key in keys:
                self.docks[key].show()
            if tabbed:
                self.docks[tabbed[0]].raise_()
        self.grown_from = None
        self.placing = False
        self.sized = False
        if window.isVisible():
            self.default_sizes()

    def default_sizes(self) -> None:
        """Side columns wide enough to read, the library a few rows, the bottom a strip,
        the map the rest."""
        window = self.window
        self.placing = True
        side = min(MAX_DOCK_WIDTH, max(MIN_DOCK_WIDTH, int(SIDE_SHARE * window.width())))
        for area in (Area.LEFT, Area.RIGHT):
            keys = self.keys(area)
            if keys:
                window.resizeDocks([self.docks[keys[0]]], [side], Qt.Orientation.Horizontal)
        left = self.keys(Area.LEFT)
        if len(left) > 1:
            top, rest = self.docks[left[0]], self.docks[left[1]]
            column = top.height() + rest.height()
            # as tall as it asks to be (a library of two sets needs a few rows), within bounds
            wanted = top.widget().sizeHint().height() + top.height() - top.widget().height()
            height = max(MIN_PANEL_HEIGHT, min(wanted, int(LIBRARY_SHARE * column)))
            window.resizeDocks([top, rest], [height, column - height], Qt.Orientation.Vertical)
        bottom = self.keys(Area.BOTTOM)
        if bottom:
            window.resizeDocks([self.docks[bottom[0]]], [int(STRIP_SHARE * window.height())],
                               Qt.Orientation.Vertical)
        self.placing = False
        self.sized = True
        self.following = {}
        QTimer.singleShot(0, self, self._remember_defaults)

    def _set_sizes(self) -> dict[str, int]:
        """The sizes the default layout sets and a window resize leaves alone: the side
        columns' widths, the bottom's height."""
        sizes = {}
        for area, horizontal in ((Area.LEFT, True), (Area.RIGHT, True), (Area.BOTTOM, False)):
            keys = self.keys(area)
            if keys:
                dock = self.docks[keys[0]]
                sizes[area.value] = dock.width() if horizontal else dock.height()
        return sizes

    def _remember_defaults(self) -> None:
        if self.following is not None:
            self.following = self._set_sizes()

    def window_resized(self) -> None:
        """Follow the window's size while the default layout is untouched; once the user
        moved a splitter (or an analysis grew), their sizes stay."""
        if self.following is None or self.placing or not self.window.isVisible():
            return
        if self.following and self._set_sizes() != self.following:
            self.following = None
            return
        QTimer.singleShot(0, self, self.default_sizes)

    def _dock_shown(self, key: str, shown: bool) -> None:
        if shown and not self.placing:
            # once the tab switch is laid out, so the area's height is the settled one
            QTimer.singleShot(0, self, lambda: self._fit_bottom(key))

    def _fit_bottom(self, key: str) -> None:
        """A wide analysis in the bottom area brought forward gets room while the map stays
        in view; bringing the strip (the table) back forward gives it back."""
        window, dock = self.window, self.docks[key]
        if (self.placing or dock.visibleRegion().isEmpty() or dock.isFloating()
                or window.dockWidgetArea(dock) != Qt.DockWidgetArea.BottomDockWidgetArea):
            return
        if key in STRIP_PANELS:
            if self.grown_from is not None:
                self._resize_height(dock, self.grown_from)
                self.grown_from = None
            return
        shown = dock.widget()
        wanted = int(ANALYSIS_SHARE * window.width() * window.height() / max(1, shown.width()))
        if shown.height() < wanted:
            if self.grown_from is None:
                strips = [self.docks[k] for k in self.keys(Area.BOTTOM) if k in STRIP_PANELS]
                self.grown_from = strips[0].height() if strips else dock.height()
            self._resize_height(dock, min(dock.height() + wanted - shown.height(),
                                          int(MAX_BOTTOM_SHARE * window.height())))

    def _resize_height(self, dock: QDockWidget, height: int, asked: int | None = None) -> None:
        """Make `dock` `height` px tall. `resizeDocks` counts a tabbed group's tab bar and
        lays out later, so the first request is checked once laid out and corrected."""
        if asked is not None:
            if dock.height() != height:
                self.window.resizeDocks([dock], [asked + height - dock.height()],
                                        Qt.Orientation.Vertical)
            return
        self.window.resizeDocks([dock], [height], Qt.Orientation.Vertical)
        QTimer.singleShot(0, self, lambda: self._resize_height(dock, height, height))

    def panel_rects(self, panels: dict[str, Panel]) -> dict[str, QRect]:
        """Where each panel in view is, in window coordinates (a docked panel's rectangle
        is what its dock shows of it); panels hidden, closed or behind a tab are left out."""
        rects = {}
        for key, panel in panels.items():
            # a dock behind a tab is moved out of sight, not hidden: what is in view has a
            # visible region (its title bar, at least)
            frame = self.docks.get(key, panel)
            shown = self.docks[key].widget() if key in self.docks else panel
            if frame.isVisible() and not frame.visibleRegion().isEmpty():
                rects[key] = shown.rect().translated(shown.mapTo(self.window, QPoint(0, 0)))
        return rects

    # --- remembering -----------------------------------------------------------------
    def state(self) -> bytes:
        """The docks' places and sizes, as a session or the settings keep them."""
        return bytes(self.window.saveState(LAYOUT_VERSION).data())

    def restore(self, state: bytes) -> bool:
        """Put the docks back as `state()` had them; False (and nothing changed) for a
        layout of another version, or damaged bytes."""
        self.placing = True
        try:
            restored = self.window.restoreState(QByteArray(state), LAYOUT_VERSION)
        finally:
            self.placing = False
        if restored:
            self.grown_from = None
            self.sized = True
            self.following = None
        return restored

    def screen_key(self) -> str:
        """The layout is remembered per screen size: "1400x900"."""
        screen = self.window.screen()
        size = screen.availableGeometry().size() if screen is not None else QSize(0, 0)
        return f"{size.width()}x{size.height()}"

    def restore_saved(self) -> bool:
        """The window's geometry and layout last used on a screen of this size, if any."""
        s = ui_settings.settings()
        key = self.screen_key()
        geometry, state = s.value(f"window/geometry/{key}"), s.value(f"window/state/{key}")
        if isinstance(geometry, QByteArray):
            self.window.restoreGeometry(geometry)
        elif self.window.screen() is not None:
            first = first_geometry(self.window.screen().availableGeometry())
            if first is not None:
                self.window.setGeometry(first)
        return isinstance(state, QByteArray) and self.restore(bytes(state.data()))

    def save(self) -> None:
        s = ui_settings.settings()
        key = self.screen_key()
        s.setValue(f"window/geometry/{key}", self.window.saveGeometry())
        s.setValue(f"window/state/{key}", QByteArray(self.state()))
        s.sync()
