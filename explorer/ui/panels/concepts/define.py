"""Defining a concept direction: text poles, two groups (selection or filters), two items,
a principal component, or arithmetic over saved directions.

The form only gathers what the user chose; the direction is built and validated
in a job (`Recipe.build`), then saved with the set through the ConceptContext.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGridLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from explorer.core.errors import InputError
from explorer.ui.panels.concepts.context import ConceptContext
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.state import AppState
from explorer.ui.widgets.dock_widgets import DIM_STYLE, busy_bar, shrinkable
from explorer.ui.widgets.error_line import ErrorLine
from explorer.ui.widgets.filter_hint import NO_EXAMPLE, filter_example

TEXTS, SELECTION, FILTERS, ITEMS, COMPONENT, ARITHMETIC = (
    "Text poles", "Two selections", "Two filters", "Two items", "Principal component",
    "Arithmetic")
METHOD_TIPS = {
    TEXTS: "Describe each end in words (one text per line, averaged); the set's own model "
           "encodes them. Needs a set encoded by a model installed here.",
    SELECTION: "Select items on the map or in the table and take them as pole A, then B: the "
               "direction goes from A's mean to B's (or a probe's normal)",
    FILTERS: "Two SQL filters over the metadata give the two groups",
    ITEMS: "From one example item to another: quick, but each item brings its own noise",
    COMPONENT: "A principal component of the set: the directions along which items vary most",
    ARITHMETIC: "Combine saved directions: A + B, A - B, or A with B's part removed (A ⊥ B)",
}
OPS = {"+": "A + B", "-": "A − B", "orth": "A ⊥ B (remove B's part from A)"}


@dataclass
class Recipe:
    """What the user asked for; `build` runs in a job and returns a validated Direction."""

    method: str
    name: str | None
    against: str | None
    texts_a: list[str] = field(default_factory=list)
    texts_b: list[str] = field(default_factory=list)
    rows_a: np.ndarray | None = None
    rows_b: np.ndarray | None = None
    where_a: str = ""
    where_b: str = ""
    probe: bool = False
    component: int = 0
    first: object = None  # Direction (arithmetic)
    second: object = None
    op: str = "-"

    def build(self, es, state):
        from explorer.compute import concepts as cc

        state.status("Building the direction")
        if self.method == TEXTS:
            d = cc.from_texts(es, self.texts_a, self.texts_b, self.name)
        elif self.method in (SELECTION, ITEMS) and self.probe:
            d = cc.probe(es, self.rows_a, self.rows_b, name=self.name)
        elif self.method == SELECTION:
            d = cc.from_rows(es, self.rows_a, self.rows_b, self.name)
        elif self.method == ITEMS:
            d = cc.from_extremes(es, int(self.rows_a[0]), int(self.rows_b[0]), self.name)
        elif self.method == FILTERS:
            d = cc.from_where(es, self.where_a, self.where_b, self.name, probe=self.probe)
        elif self.method == COMPONENT:
            d = cc.component(es, self.component, name=self.name)
        elif self.op == "orth":
            d = cc.orthogonalise(self.first, [self.second], name=self.name)
        else:
            d = cc.combine([(1.0, self.first), (1.0 if self.op == "+" else -1.0, self.second)],
                           name=self.name)
        state.status(f"Checking {d.name}")
        d.validity = cc.validate(es, d, against=self.against, state=state.sub(0.2, 1.0))
        return d


class DefinePanel(QWidget):
    """The form; `created` carries each validated Direction after it was saved."""

    created = Signal(object)

    def __init__(self, state: AppState, jobs: PanelJobs, context: ConceptContext,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.context = context
        self.rows: dict[str, np.ndarray | None] = {"A": None, "B": None}
        self.busy = busy_bar()
        self.build_job = jobs.track("define", self.busy, on_end=self._build_ended)
        self.method = QComboBox()
        for name, tip in METHOD_TIPS.items():
            self.method.addItem(name)
            self.method.setItemData(self.method.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.method.setToolTip("How to define the direction")
        self.method.currentIndexChanged.connect(self._method_changed)
        shrinkable(self.method, 8)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._texts_page())
        self.pages.addWidget(self._groups_page())
        self.pages.addWidget(self._filters_page())
        self.pages.addWidget(self._groups_page(items=True))
        self.pages.addWidget(self._component_page())
        self.pages.addWidget(self._arithmetic_page())

        self.name = QLineEdit()
        self.name.setPlaceholderText("name (default: from the poles)")
        self.name.setToolTip("What to call the direction; one of the same name is replaced")
        self.against = QComboBox()
        self.against.setToolTip("A numeric column to check the scores against (Spearman "
                                "correlation); e.g. a rating for a sentiment direction")
        self.create_button = QPushButton("Create")
        self.create_button.setToolTip("Build the direction, check it, and keep it with the set "
                                      "(Ctrl+Return)")
        self.create_button.setShortcut("Ctrl+Return")
        self.create_button.clicked.connect(self.create)
        self.message = ErrorLine()
        self.status = QLabel()
        self.status.setStyleSheet(DIM_STYLE)
        self.status.setWordWrap(True)

        shrinkable(self.against, 6)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("Check against"))
        bottom.addWidget(self.against, 1)
        bottom.addWidget(self.create_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 4, 2, 2)
        top = QHBoxLayout()
        top.addWidget(self.method, 1)
        top.addWidget(self.name, 2)
        layout.addLayout(top)
        layout.addWidget(self.pages)
        layout.addLayout(bottom)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.status)
        layout.addStretch(1)
        context.directionsChanged.connect(self._fill_directions)
        state.selectionChanged.connect(lambda *_: self._update_group_labels())
        state.currentChanged.connect(lambda *_: self._update_group_labels())
        self.set_text_reason("open a set first")
        self.set_set(None)

    # --- pages ---------------------------------------------------------------------------
    def _texts_page(self) -> QWidget:
        page = QWidget()
        grid = QGridLayout(page)
        grid.setContentsMargins(0, 0, 0, 0)
        self.texts: dict[str, QPlainTextEdit] = {}
        for col, (pole, example) in enumerate((("A", "terrible\nawful, a waste of time"),
                                               ("B", "wonderful\nexcellent, a joy")), start=0):
            edit = QPlainTextEdit()
            edit.setPlaceholderText(f"pole {pole}, one text per line, e.g.\n{example}")
            edit.setToolTip(f"Texts that describe end {pole}; each line is encoded and the "
                            "lines are averaged")
            edit.setTabChangesFocus(True)
            edit.setMaximumHeight(90)
            self.texts[pole] = edit
            grid.addWidget(QLabel(f"{pole} (low end)" if pole == "A" else f"{pole} (high end)"),
                           0, col)
            grid.addWidget(edit, 1, col)
        self.text_reason = QLabel()
        self.text_reason.setStyleSheet(DIM_STYLE)
        self.text_reason.setWordWrap(True)
        grid.addWidget(self.text_reason, 2, 0, 1, 2)
        return page

    def _groups_page(self, items: bool = False) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        labels = {}
        for pole in ("A", "B"):
            button = QPushButton(f"Use the {'current item' if items else 'selection'} as {pole}")
            button.setToolTip(f"Take the {'item you clicked' if items else 'selected items'} "
                              f"as pole {pole}")
            button.clicked.connect(lambda _c=False, p=pole, one=items: self._take(p, one))
            label = QLabel()
            label.setStyleSheet(DIM_STYLE)
            labels[pole] = label
            form.addRow(button, label)
        probe = QCheckBox("Linear probe")
        probe.setToolTip("Fit a logistic regression between the groups instead of taking the "
                         "difference of their means; the direction is the normal of its "
                         "boundary. Better when the groups differ in more than one way.")
        if items:
            probe.hide()
            self.item_labels = labels
        else:
            form.addRow(probe)
            self.group_labels, self.group_probe = labels, probe
        return page

    def _filters_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.wheres: dict[str, QLineEdit] = {}
        for pole in ("A", "B"):
            edit = QLineEdit()
            edit.setPlaceholderText(f"SQL: {NO_EXAMPLE}")
            edit.setToolTip(f"Items matching this filter form group {pole}")
            edit.returnPressed.connect(self.create)
            self.wheres[pole] = edit
            form.addRow(f"{pole}:", edit)
        self.filter_probe = QCheckBox("Linear probe")
        self.filter_probe.setToolTip("Fit a classifier between the groups instead of taking the "
                                     "difference of their means")
        form.addRow(self.filter_probe)
        return page

    def _component_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.component = QSpinBox()
        self.component.setRange(1, 50)
        self.component.setPrefix("PC ")
        self.component.setToolTip("1 is the direction of largest variance, 2 the next, …")
        form.addRow("Component:", self.component)
        return page

    def _arithmetic_page(self) -> QWidget:
        page = QWidget()
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        self.first, self.second, self.op = QComboBox(), QComboBox(), QComboBox()
        for key, text in OPS.items():
            self.op.addItem(text, key)
        self.first.setToolTip("Saved direction A")
        self.second.setToolTip("Saved direction B")
        self.op.setToolTip("⊥ keeps what A measures that B does not: A minus its projection "
                           "on B, so the result's scores do not move along B")
        for combo in (self.first, self.second, self.op):
            shrinkable(combo, 5)
        row.addWidget(self.first, 2)
        row.addWidget(self.op, 2)
        row.addWidget(self.second, 2)
        return page

    # --- state ---------------------------------------------------------------------------
    def set_set(self, es) -> None:
        self.rows = {"A": None, "B": None}
        example = filter_example(es.metadata if es is not None else None)
        for edit in self.wheres.values():
            edit.setPlaceholderText(f"SQL over the metadata, e.g. {example}")
        self.against.clear()
        self.against.addItem("(no column)", None)
        if es is not None:
            from explorer.compute import concepts as cc

            for column in cc.numeric_columns(es):
                self.against.addItem(column, column)
        self.setEnabled(es is not None)
        self.message.clear_error()
        self.status.clear()
        self._update_group_labels()

    def set_text_reason(self, reason: str | None) -> None:
        """Text poles work only for sets their model can encode; say why not otherwise."""
        item = self.method.model().item(self.method.findText(TEXTS))
        item.setEnabled(reason is None)
        self.text_reason.setText("" if reason is None else f"Text poles are not available: {reason}")
        self.text_reason.setVisible(reason is not None)
        for edit in self.texts.values():
            edit.setEnabled(reason is None)
        if reason is not None and self.method.currentText() == TEXTS:
            self.method.setCurrentText(SELECTION)

    def _method_changed(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        self.message.clear_error()

    def _fill_directions(self) -> None:
        names = [d.name for d in self.context.directions]
        for combo in (self.first, self.second):
            current = combo.currentText()
            combo.clear()
            combo.addItems(names)
            if current in names:
                combo.setCurrentText(current)
        if len(names) > 1 and self.second.currentIndex() == self.first.currentIndex():
            self.second.setCurrentIndex(1)

    def _take(self, pole: str, one: bool) -> None:
        if one:
            current = self.state.current
            self.rows[pole] = np.array([current], np.int64) if current >= 0 else None
        else:
            rows = np.asarray(self.state.selection, dtype=np.int64)
            self.rows[pole] = rows.copy() if rows.size else None
        self._update_group_labels()

    def _update_group_labels(self) -> None:
        es = self.context.es
        for pole in ("A", "B"):
            rows = self.rows[pole]
            if rows is None:
                text = "not set"
            elif len(rows) == 1 and es is not None:
                text = f"#{int(rows[0])} {es.label(int(rows[0]))}"
            else:
                text = f"{len(rows):,} items"
            self.group_labels[pole].setText(text)
            self.item_labels[pole].setText(text)

    # --- what an item's menu asks for -------------------------------------------------
    def set_pole(self, pole: str, rows) -> None:
        """Take `rows` as pole `pole` (an item's menu asked): the method that fits, two
        items when each pole is one item, else two selections; nothing is built yet."""
        rows = np.unique(np.asarray(rows, dtype=np.int64).ravel())
        if self.context.es is None or rows.size == 0:
            return
        self.rows[pole] = rows
        other = self.rows["B" if pole == "A" else "A"]
        single = rows.size == 1 and (other is None or other.size == 1)
        self.method.setCurrentText(ITEMS if single else SELECTION)
        self._update_group_labels()
        self.message.clear_error()
        what = self.group_labels[pole].text()
        if other is None:
            self.status.setText(f"Pole {pole} is {what}. Choose the other pole the same way "
                                "(or select items and press its button), then Create.")
        elif (both := np.intersect1d(rows, other)).size:
            self.status.setText(f"Pole {pole} is {what}, but {both.size:,} of them are in the "
                                "other pole too: an item can only be on one side.")
        else:
            self.status.setText(f"Pole {pole} is {what}. Both poles are set: press Create.")

    def compare_with_rest(self, rows) -> None:
        """The direction from the rest of the set to `rows`, named after what they have in
        common, checked and saved like any other, in a job (the newest build wins)."""
        es = self.context.es
        if es is None:
            return
        rows = np.unique(np.asarray(rows, dtype=np.int64).ravel())
        if rows.size == 0:
            self.message.show_error(InputError("select some items first, then compare them "
                                               "with the rest"))
            return
        if rows.size >= es.count:
            self.message.show_error(InputError("every item is selected: there is no rest to "
                                               "compare them with"))
            return
        self.message.clear_error()
        self.status.setText(f"Building: {rows.size:,} items against the rest…")
        colour_by = self.state.colour_by or None

        def work(state):
            from explorer.compute import concepts as cc
            from explorer.compute.selection_summary import summarise_selection

            state.status("Naming the items")
            label = summarise_selection(es, rows, colour_by, state=state).name()
            state.status("Building the direction")
            d = cc.from_rest(es, rows, label=label)
            state.status(f"Checking {d.name}")
            d.validity = cc.validate(es, d, state=state.sub(0.3, 1.0))
            return d

        self.build_job.submit(f"Comparing {rows.size:,} items with the rest", work,
                              on_done=self._built, on_error=self.message.show_error)

    # --- creating --------------------------------------------------------------------------
    def recipe(self) -> Recipe:
        """The form as a Recipe; InputError says what is missing."""
        method = self.method.currentText()
        recipe = Recipe(method, self.name.text().strip() or None, self.against.currentData())
        if method == TEXTS:
            for pole in ("A", "B"):
                lines = [t.strip() for t in self.texts[pole].toPlainText().splitlines()]
                setattr(recipe, f"texts_{pole.lower()}", [t for t in lines if t])
        elif method in (SELECTION, ITEMS):
            for pole in ("A", "B"):
                if self.rows[pole] is None:
                    what = "an item" if method == ITEMS else "some items"
                    raise InputError(f"pole {pole} is not set: select {what} and press "
                                     f"'Use … as {pole}'")
            recipe.rows_a, recipe.rows_b = self.rows["A"], self.rows["B"]
            recipe.probe = method == SELECTION and self.group_probe.isChecked()
        elif method == FILTERS:
            recipe.where_a, recipe.where_b = (self.wheres[p].text().strip() for p in "AB")
            if not recipe.where_a or not recipe.where_b:
                raise InputError("write a filter for both A and B")
            recipe.probe = self.filter_probe.isChecked()
        elif method == COMPONENT:
            recipe.component = self.component.value() - 1
        else:
            first = self.context.find(self.first.currentText())
            second = self.context.find(self.second.currentText())
            if first is None or second is None:
                raise InputError("save two directions first, then combine them here")
            recipe.first, recipe.second, recipe.op = first, second, self.op.currentData()
        return recipe

    def create(self) -> None:
        es = self.context.es
        if es is None:
            return
        try:
            recipe = self.recipe()
        except InputError as exc:
            self.message.show_error(exc)
            return
        self.message.clear_error()
        self.status.setText("Building and checking the direction…")

        self.build_job.submit("Building a concept direction", recipe.build, es,
                              on_done=self._built, on_error=self.message.show_error)

    def _built(self, direction) -> None:
        self.status.setText(f"Saved “{direction.name}”")
        self.context.save(direction)
        self.created.emit(direction)

    def _build_ended(self) -> None:
        """A cancelled or failed build leaves no 'building…' behind (a result, delivered
        right after this, says "Saved")."""
        if self.status.text().startswith("Building"):
            self.status.clear()
