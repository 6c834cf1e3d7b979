"""The Concepts dock: the set's saved directions, and tabs to define, read, compare and remove them.

The current direction (the combo at the top) drives the Axis tab; any two saved
directions can become the map's axes (the concept plane), which the map asks for
through the shared state. Everything slow (scores, validation, removal, files) runs
in jobs of the panel's PanelJobs; the ConceptContext holds what is shared.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QMenu,
                               QMessageBox, QPushButton, QTabWidget, QToolButton, QVBoxLayout,
                               QWidget)

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.ui.panels.base import Area, Panel, PanelContext
from explorer.ui.panels.concepts.axis import AxisTab
from explorer.ui.panels.concepts.context import ConceptContext
from explorer.ui.panels.concepts.define import DefinePanel
from explorer.ui.panels.concepts.entanglement import EntanglementTab
from explorer.ui.panels.concepts.removal import RemovalTab
from explorer.ui.state import ConceptPlane
from explorer.ui.widgets.dock_widgets import DIM_STYLE, shrinkable
from explorer.ui.widgets.error_line import error_text
from explorer.ui.widgets.thumbnail_grid import link, restore_grid

TABS = {"define": 0, "axis": 1, "entanglement": 2, "removal": 3}
CHOICES = ("current", "plane_x", "plane_y")  # what a session keeps, by direction name


class ConceptsView(Panel):
    key = "concepts"
    title = "Concepts"
    area = Area.LEFT

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        state = self.state
        self.context = ConceptContext(self.jobs, self)
        self.es: EmbeddingSet | None = None
        self._pending: dict[str, str] | None = None  # a session's choices, once directions load
        self._plane_asked = False  # the map asked for the plane on this set
        self._plane_waiting = False  # ... before the directions were read: answer once they are

        self.current = QComboBox()
        self.current.setToolTip("The direction the Axis tab shows; saved with the set")
        self.current.activated.connect(lambda _i: self.context.choose(self.current.currentText()))
        self.delete_button = QToolButton(text="Delete")
        self.delete_button.setToolTip("Delete the current direction from the set")
        self.delete_button.clicked.connect(self.delete_current)
        self.files_button = QToolButton(text="File")
        self.files_button.setToolTip("Export the saved directions to JSON, to use them on "
                                     "another set made by the same model, or import some")
        self.files_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.files_button)
        self.export_action = menu.addAction("Export directions…", self.export_dialog)
        self.import_action = menu.addAction("Import directions…", self.import_dialog)
        self.files_button.setMenu(menu)
        shrinkable(self.current, 6)
        top = QHBoxLayout()
        top.addWidget(QLabel("Direction"))
        top.addWidget(self.current, 1)
        top.addWidget(self.delete_button)
        top.addWidget(self.files_button)

        self.plane_x, self.plane_y = QComboBox(), QComboBox()
        shrinkable(self.plane_x, 5)
        shrinkable(self.plane_y, 5)
        self.plane_x.setToolTip("The direction along the map's x axis")
        self.plane_y.setToolTip("The direction along the map's y axis")
        self.plane_button = QPushButton("Map it")
        self.plane_button.setToolTip("Place every item at its scores along the two directions "
                                     "(the map's Concept plane)")
        self.plane_button.clicked.connect(self.show_plane)
        plane = QGridLayout()
        plane.addWidget(QLabel("Plane x"), 0, 0)
        plane.addWidget(self.plane_x, 0, 1)
        plane.addWidget(QLabel("y"), 1, 0, Qt.AlignmentFlag.AlignRight)
        plane.addWidget(self.plane_y, 1, 1)
        plane.addWidget(self.plane_button, 0, 2, 2, 1)
        plane.setColumnStretch(1, 1)

        self.define = DefinePanel(state, self.jobs, self.context)
        self.define.created.connect(lambda _d: self.show_tab("axis"))
        self.axis = AxisTab(state, self.jobs, self.context)
        link(self.axis.grid_switches)  # one list-or-grid choice for the panel
        self.axis.validityChanged.connect(lambda d: self.context.save(d, then_choose=False))
        self.entanglement = EntanglementTab(state, self.jobs, self.context)
        self.removal = RemovalTab(state, self.jobs, self.context, context.library)
        state.planeRequested.connect(self.plane_requested)
        state.poleRequested.connect(self.pole_requested)
        state.contrastRequested.connect(self.contrast_requested)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for widget, title, tip in (
                (self.define, "Define", "Make a direction from texts, groups, items, a "
                                        "component or other directions"),
                (self.axis, "Axis", "Every item's score along the current direction; brush a "
                                    "range to select it"),
                (self.entanglement, "Entanglement", "How much the saved directions overlap"),
                (self.removal, "Remove", "Project directions out of a copy of the set and see "
                                         "what happens to neighbours")):
            self.tabs.addTab(widget, title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tip)

        self.hint = QLabel()
        self.hint.setStyleSheet(DIM_STYLE)
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(plane)
        layout.addWidget(self.error_line)
        layout.addWidget(self.hint)
        layout.addWidget(self.tabs, 1)

        self.context.directionsChanged.connect(self._directions_changed)
        self.context.currentChanged.connect(self._current_changed)
        self.new_set(None)

    def show_tab(self, key: str) -> None:
        self.tabs.setCurrentIndex(TABS[key])

    # --- session ---------------------------------------------------------------------------
    def settings(self) -> dict:
        """A session refers to saved directions by name; they themselves live with the set."""
        return {"current": self.current.currentText(), "plane_x": self.plane_x.currentText(),
                "plane_y": self.plane_y.currentText(),
                "tab": next(k for k, i in TABS.items() if i == self.tabs.currentIndex()),
                "grid": self.axis.grid_switches[0].grid_on}

    def apply_settings(self, settings: Mapping[str, Any]) -> list[str]:
        """Restore `settings()` once the set's directions are read (names the set no longer
        has are said in the hint then); a plane the map asked for follows the axes."""
        notes = restore_grid(self.axis.grid_switches, settings.get("grid"), "concepts")
        tab = settings.get("tab")
        if isinstance(tab, str) and tab in TABS:
            self.show_tab(tab)
        elif tab is not None:
            notes.append(f"concepts: unknown tab {tab!r}")
        choices = {}
        for key in CHOICES:
            name = settings.get(key)
            if isinstance(name, str):
                if name:
                    choices[key] = name
            elif name is not None:
                notes.append(f"concepts: {key} {name!r} is not a direction's name")
        if choices:
            self._pending = choices
            self._apply_pending()
        return notes

    def _apply_pending(self) -> bool:
        """A session's choices, once the directions are read; True if it mapped the plane."""
        if self._pending is None or not self.context.loaded:
            return False
        wanted, self._pending = self._pending, None
        names = [d.name for d in self.context.directions]
        missing = sorted({n for n in wanted.values() if n not in names})
        for combo, key in ((self.plane_x, "plane_x"), (self.plane_y, "plane_y")):
            if wanted.get(key) in names:
                combo.setCurrentText(wanted[key])
        if wanted.get("current") in names:
            self.context.choose(wanted["current"])
        if missing:
            self.hint.setText("The session's direction(s) " + ", ".join(f"“{n}”" for n in missing)
                              + " are no longer saved with this set.")
        if self._plane_asked and ("plane_x" in wanted or "plane_y" in wanted) \
                and self.plane_button.isEnabled():
            self.show_plane()
            return True
        return False

    # --- the set and its directions ------------------------------------------------------
    def new_set(self, es: EmbeddingSet | None) -> None:
        self.es = es
        self._pending = None
        self._plane_asked = self._plane_waiting = False
        self.define.set_set(es)
        self.context.set_set(es)
        for w in (self.current, self.delete_button, self.files_button):
            w.setEnabled(es is not None)
        if es is None:
            self.hint.setText("Open a set to define concept directions in it.")
            return
        self.hint.setText("")
        self._check_text_model(es)

    def _check_text_model(self, es: EmbeddingSet) -> None:
        """Text poles need the set's own model: find it off the UI thread."""
        self.define.set_text_reason("looking for the set's model…")

        def work(_state):
            from explorer.compute import neighbours as nb

            return nb.text_query_reason(es)

        self.jobs.submit("model", "Looking for the set's model", work,
                         on_done=self.define.set_text_reason,
                         on_error=lambda err: self.define.set_text_reason(error_text(err)))

    def _directions_changed(self) -> None:
        names = [d.name for d in self.context.directions]
        for combo in (self.current, self.plane_x, self.plane_y):
            chosen = combo.currentText()
            combo.clear()
            combo.addItems(names)
            if chosen in names:
                combo.setCurrentText(chosen)
        if len(names) > 1 and self.plane_x.currentIndex() == self.plane_y.currentIndex():
            self.plane_x.setCurrentIndex(len(names) - 2)
            self.plane_y.setCurrentIndex(len(names) - 1)
        if self.context.current is not None:
            self.current.setCurrentText(self.context.current.name)
        self.plane_button.setEnabled(len(names) >= 2)
        self.delete_button.setEnabled(bool(names))
        self.export_action.setEnabled(bool(names))
        if self.es is not None and not names:
            self.hint.setText("No directions saved with this set yet: define one below.")
        else:
            self.hint.setText("")
        if self.context.loaded:
            waiting, self._plane_waiting = self._plane_waiting, False
            if not self._apply_pending() and waiting:
                self._answer_plane()

    def _current_changed(self, direction) -> None:
        if direction is not None:
            self.current.setCurrentText(direction.name)

    def delete_current(self) -> None:
        d = self.context.current
        if d is None:
            return
        answer = QMessageBox.question(self, "Delete direction",
                                      f"Delete “{d.name}” from this set?")
        if answer == QMessageBox.StandardButton.Yes:
            self.context.delete(d.name)

    # --- what an item's menu asks for -------------------------------------------------
    def pole_requested(self, pole: str, rows) -> None:
        """Fill that pole of the Define form and show it; the user still presses Create
        (the name, a probe or a column to check against may be wanted first)."""
        if self.es is None:
            return
        self.define.set_pole(pole, rows)
        self._come_forward()

    def contrast_requested(self, rows) -> None:
        """Build, check and save the direction from the rest of the set to `rows`; the Axis
        tab shows it once saved (as after Create)."""
        if self.es is None:
            return
        self.define.compare_with_rest(rows)
        self._come_forward()

    def _come_forward(self) -> None:
        self.show_tab("define")
        self.state.request_view(self.key)

    # --- the concept plane --------------------------------------------------------------
    def plane_requested(self) -> None:
        """The map asks for the concept plane: show it, or say what it needs; before the
        set's directions (and a session's choice of axes) are in, once they are."""
        self._plane_asked = True
        if not self.context.loaded:
            self._plane_waiting = True
            return
        self._answer_plane()

    def _answer_plane(self) -> None:
        if self.plane_button.isEnabled():
            self.show_plane()
            return
        self.state.request_view("concepts")
        self.show_tab("define")
        self.hint.setText("Save two directions, then choose them as the plane's x and y "
                          "(or pick Concept plane on the map again).")

    def show_plane(self) -> None:
        """Score every item along the two chosen directions; the map shows them as x and y."""
        es = self.es
        dx, dy = (self.context.find(c.currentText()) for c in (self.plane_x, self.plane_y))
        if es is None or dx is None or dy is None:
            self.show_error(InputError("save two directions with the set first (Define tab), "
                                       "then choose them as the plane's x and y"))
            return
        if dx.name == dy.name:
            self.show_error(InputError("choose two different directions for x and y"))
            return
        self.error_line.clear_error()

        def work(state):
            from explorer.compute import concepts as cc

            start = time.perf_counter()
            coords = cc.score_matrix(es, [dx, dy], state=state)
            return coords, time.perf_counter() - start

        def done(result) -> None:
            coords, seconds = result
            self.state.set_plane(ConceptPlane(coords, axis_label(dx), axis_label(dy), seconds))

        self.jobs.submit("plane", "Scoring items for the concept plane", work, on_done=done)

    # --- files -----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if not self.context.directions or self.es is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export directions",
                                              f"{self.es.name} directions.json", "JSON (*.json)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        directions = list(self.context.directions)

        def work(_state):
            from explorer.compute import concepts as cc

            return cc.export_json(directions, path)

        self.jobs.submit("export", "Exporting directions", work,
                         on_done=lambda p: self.hint.setText(
                             f"Wrote {len(directions)} direction(s) to {p}"),
                         set_bound=False)

    def import_dialog(self) -> None:
        if self.es is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import directions", "", "JSON (*.json)")
        if path:
            self.import_from(path)

    def import_from(self, path: str, force: bool = False) -> None:
        es = self.es

        def work(_state):
            from explorer.compute import concepts as cc

            directions = cc.import_json(path, es, force=force)
            store = cc.DirectionStore(es)
            for d in directions:
                store.save(d)
            return directions

        def done(directions) -> None:
            self.hint.setText(f"Imported {len(directions)} direction(s) from {path}")
            self.context.reload(then_current=directions[-1].name if directions else None)

        def failed(error: BaseException) -> None:
            if not force and isinstance(error, InputError) and "model" in error.message:
                answer = QMessageBox.question(
                    self, "Import directions",
                    f"{error}\n\nImport anyway? The scores will only mean something if both "
                    "sets live in the same space.")
                if answer == QMessageBox.StandardButton.Yes:
                    self.import_from(path, force=True)
                    return
            self.show_error(error)

        # the directions land in the library whatever the window shows by then; what is
        # said about them only while their set is shown
        self.jobs.submit("import", "Importing directions", work, on_done=self.jobs.guard(done),
                         on_error=self.jobs.guard(failed), set_bound=False)


def axis_label(d) -> str:
    """The plane's axis title: the direction's poles either side of its score."""
    return f"{d.label_a}  ←  score  →  {d.label_b}"
