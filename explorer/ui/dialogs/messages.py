"""Error and question dialogs that say what went wrong and where."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from explorer.core.checks import SetReport
from explorer.core.errors import InputError


def error_box(parent: QWidget | None, error: BaseException, title: str = "Cannot open") -> QMessageBox:
    """A modeless box for a failed job; the app goes on behind it."""
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setWindowTitle(title)
    if isinstance(error, InputError):
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(error.message[:1].upper() + error.message[1:])
        details = []
        if error.where():
            details.append(f"<b>Where:</b> {error.where()}")
        if error.hint:
            details.append(f"<b>What to do:</b> {error.hint}")
        box.setInformativeText("<br>".join(details))
    else:
        box.setIcon(QMessageBox.Icon.Critical)
        box.setText(f"Something went wrong inside the app: {type(error).__name__}: {error}")
        box.setInformativeText("Nothing was changed. Please report this with the details below.")
        box.setDetailedText(getattr(error, "formatted", repr(error)))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.open()
    return box


def ask_drop_nonfinite(parent: QWidget | None, path: str, report: SetReport) -> bool:
    scan = report.scan
    row, dim = scan.first_nonfinite or (0, 0)
    box = QMessageBox(parent)
    box.setObjectName("dropNonfiniteDialog")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Rows with NaN or Inf")
    box.setText(f"{scan.nan_rows:,} of {scan.count:,} rows hold NaN or Inf values "
                f"(first: row {row}, dimension {dim}).")
    box.setInformativeText(f"{path}\n\nNo distance can be computed for these rows. "
                           "Drop them and import the rest? Their original row numbers are kept "
                           "in a 'source_row' column.")
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Yes).setText("Drop and import")
    return box.exec() == QMessageBox.StandardButton.Yes


def warnings_box(parent: QWidget | None, path: str, report: SetReport) -> QMessageBox | None:
    """Zero vectors and duplicate ids do not stop an import, but the user must know."""
    notes = [w.message for w in report.warnings if w.code != "nonfinite"]
    if not notes:
        return None
    box = QMessageBox(parent)
    box.setObjectName("importWarnings")
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("Imported with warnings")
    box.setText(f"{path} was imported, but:")
    box.setInformativeText("<ul>" + "".join(f"<li>{n}</li>" for n in notes) + "</ul>")
    box.open()
    return box


def ask_choice(parent: QWidget | None, error: InputError) -> str | None:
    """The file is ambiguous (several vector columns or datasets): let the user pick."""
    what = {"vector_column": "vector column", "dataset": "dataset"}.get(error.option or "", "one")
    choice, ok = QInputDialog.getItem(
        parent, f"Choose the {what}", f"{error.where()}\n{error.message}\n\nWhich {what} holds "
        "the vectors?", list(error.choices), 0, False)
    return choice if ok else None
