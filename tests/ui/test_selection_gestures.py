"""The selection keys mean the same everywhere: the gesture table and AppState's modes."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from explorer.ui.selection_gestures import click_mode, shape_mode
from explorer.ui.state import AppState, SelectMode

NONE = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.mark.parametrize("modifiers, click, shape", [
    (NONE, SelectMode.REPLACE, SelectMode.REPLACE),
    (SHIFT, SelectMode.ADD, SelectMode.ADD),
    (CTRL, SelectMode.TOGGLE, SelectMode.SUBTRACT),
    (SHIFT | CTRL, SelectMode.ADD, SelectMode.INTERSECT),
])
def test_gesture_table(modifiers, click, shape):
    assert click_mode(modifiers) is click
    assert shape_mode(modifiers) is shape


def test_toggle_removes_the_selected_and_adds_the_others(qapp):
    state = AppState()
    state.select([1, 3, 5])
    state.select([3, 4], SelectMode.TOGGLE)
    assert state.selection.tolist() == [1, 4, 5]
    state.select([4], SelectMode.TOGGLE)
    assert state.selection.tolist() == [1, 5]


def test_requests_carry_row_arrays_and_refuse_unknown_poles(qapp):
    state = AppState()
    seen = []
    state.poleRequested.connect(lambda pole, rows: seen.append((pole, rows.tolist())))
    state.contrastRequested.connect(lambda rows: seen.append(("rest", rows.tolist())))
    state.request_pole("B", [7, 2])
    state.request_contrast(np.array([[1], [2]]))
    assert seen == [("B", [7, 2]), ("rest", [1, 2])]
    with pytest.raises(ValueError):
        state.request_pole("C", [1])
