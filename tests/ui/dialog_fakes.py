"""Stand-ins for the metadata and model dialogs in the window's tests: made and "opened" as
the window does, answering what the test says, so a flow runs without a person."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog


class FakeMetadataDialog(QDialog):
    """Accepts `answer` (a file) at once, or is cancelled when it is None."""

    answer: str | None = None
    made: list[tuple] = []  # (set_name, expected_rows, path) of each one made

    def __init__(self, parent, *, set_name: str, expected_rows: int,
                 path: str | None = None, previewer=None) -> None:
        super().__init__(parent)
        FakeMetadataDialog.made.append((set_name, expected_rows, path))

    def open(self) -> None:
        self.done(QDialog.DialogCode.Accepted if self.answer else QDialog.DialogCode.Rejected)

    def path(self) -> str | None:
        return self.answer

    def id_column(self) -> str | None:
        return "name"

    def label_column(self) -> str | None:
        return None


class FakeModelDialog(QDialog):
    """Made and left open; the test emits `modelSet` when it wants an answer."""

    modelSet = Signal(object)
    made: list[FakeModelDialog] = []

    def __init__(self, parent, *, library, set_id: str, runner) -> None:
        super().__init__(parent)
        self.library, self.set_id, self.runner = library, set_id, runner
        FakeModelDialog.made.append(self)

    def open(self) -> None:
        self.setVisible(False)  # nothing to see in a test


def install(monkeypatch, answer: str | None = None) -> None:
    """Both fakes where the window's library actions look for the dialogs, answers reset."""
    FakeMetadataDialog.answer, FakeMetadataDialog.made = answer, []
    FakeModelDialog.made = []
    monkeypatch.setattr("explorer.ui.library_actions.MetadataDialog", FakeMetadataDialog)
    monkeypatch.setattr("explorer.ui.library_actions.ModelDialog", FakeModelDialog)
