"""One meaning for the selection keys in every view, so a hand that learned the map knows
the table, the lists and the labels: a plain click replaces the selection, Shift adds,
Ctrl toggles (the clicked item leaves if it was selected, joins if not), and a right-click
never changes it (it opens the item's menu). A drawn shape (box, lasso, a brushed range)
covers many rows at once, where toggling each would scatter the selection: Ctrl takes the
shape away instead, and Shift+Ctrl keeps only what is inside it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from explorer.ui.state import SelectMode

CLICK_HELP = "Click selects · Shift+click adds · Ctrl+click adds or removes"
SHAPE_HELP = "Shift adds · Ctrl removes · Shift+Ctrl keeps only what is inside"


def _keys(modifiers) -> tuple[bool, bool]:
    return (bool(modifiers & Qt.KeyboardModifier.ShiftModifier),
            bool(modifiers & Qt.KeyboardModifier.ControlModifier))


def click_mode(modifiers) -> SelectMode:
    """A click on one item: plain replaces, Shift adds, Ctrl toggles (Shift+Ctrl adds)."""
    shift, ctrl = _keys(modifiers)
    if ctrl and not shift:
        return SelectMode.TOGGLE
    if shift:
        return SelectMode.ADD
    return SelectMode.REPLACE


def shape_mode(modifiers) -> SelectMode:
    """A box, lasso or range over many items: plain replaces, Shift adds, Ctrl subtracts,
    Shift+Ctrl intersects."""
    shift, ctrl = _keys(modifiers)
    if shift and ctrl:
        return SelectMode.INTERSECT
    if shift:
        return SelectMode.ADD
    if ctrl:
        return SelectMode.SUBTRACT
    return SelectMode.REPLACE
