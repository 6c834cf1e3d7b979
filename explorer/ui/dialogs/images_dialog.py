"""View ▸ Images…: which column holds the items' images, and where relative paths start.

The columns are what `find_image_columns` detected (best first), each with how many rows
have an image and how many are URLs, which this app never fetches. File paths may be
relative: to the folder of the set's data file unless the user picks another root folder.
The dialog only asks; the window builds the thumbnails in a job.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                               QWidget)

KIND_WORDS = {"path": "file paths", "bytes": "images stored in the table",
              "struct": "images stored in the table ({bytes, path})",
              "url": "URLs (not loadable offline)"}
NONE_FOUND = ("No column of this set looks like images: file paths with image extensions, "
              "image bytes, or {bytes, path} structs as Hugging Face datasets store them.")
NO_FILE = ("The set was not read from a file, so its image paths have no folder to start "
           "from: choose a root folder that holds the images.")
ROOT_TIP = ("Relative paths start from the folder of the set's data file; choose another "
            "folder if the images were moved or live elsewhere")


def column_text(column, built: dict[str, int] | None = None) -> str:
    """One line per column: its name, how many rows have an image, of what kind, and what the
    last build made of them (`built`: the thumbnail store's counts, for its column)."""
    text = f"{column.name} — {column.count:,} {KIND_WORDS.get(column.kind, column.kind)}"
    if column.urls and column.kind != "url":
        text += f", {column.urls:,} of them URLs (not loadable offline)"
    if built:
        parts = [f"{built.get('ok', 0):,} thumbnails"] + [
            f"{built[key]:,} {word}" for key, word in (("broken", "broken"),
                                                       ("missing", "missing"),
                                                       ("pending", "not made yet"))
            if built.get(key)]
        text += f"; built: {', '.join(parts)}"
    return text


class ImagesDialog(QDialog):
    """Choose an image column (and a root folder for relative paths); Build accepts."""

    def __init__(self, columns: list, chosen=None, parent: QWidget | None = None,
                 has_file: bool = True,
                 built: tuple[str, dict[str, int]] | None = None) -> None:
        """`has_file`: the set was read from a data file (else relative paths need a root);
        `built`: the column the thumbnails were made from, and their counts."""
        super().__init__(parent)
        self.has_file = has_file
        self.setWindowTitle("Images")
        self.setObjectName("images-dialog")
        self.columns = list(columns)
        self.list = QListWidget()
        for column in self.columns:
            mine = built[1] if built is not None and column.name == built[0] else None
            item = QListWidgetItem(column_text(column, mine))
            item.setToolTip("\n".join(str(e)[:200] for e in column.examples[:5]))
            if column.kind == "url":  # counted, shown, never fetched
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.list.addItem(item)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.root = QLineEdit()
        self.root.setPlaceholderText("the folder of the set's data file" if has_file
                                     else "choose a root folder that holds the images")
        self.root.textChanged.connect(self._update)
        self.root.setToolTip(ROOT_TIP)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        root_row = QHBoxLayout()
        root_row.addWidget(QLabel("Root folder for relative paths"))
        root_row.addWidget(self.root, 1)
        root_row.addWidget(browse)
        self.root_box = QWidget()
        self.root_box.setLayout(root_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.build_button = self.buttons.addButton("Build thumbnails",
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.root_box)
        layout.addWidget(QLabel("<span style='color:gray'>A job makes a 128-pixel thumbnail of "
                                "every image into the library; Cancel keeps what it made and "
                                "building again resumes.</span>"))
        layout.addWidget(self.buttons)
        self.list.currentRowChanged.connect(self._update)
        usable = [i for i, c in enumerate(self.columns) if c.kind != "url"]
        at = next((i for i, c in enumerate(self.columns)
                   if chosen is not None and c.name == chosen.column), usable[0] if usable else -1)
        if chosen is not None and chosen.root:
            self.root.setText(chosen.root)
        self.list.setCurrentRow(at)
        self._update()
        self.resize(560, 320)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Root folder of the images",
                                                  self.root.text())
        if folder:
            self.root.setText(folder)

    def chosen_column(self):
        at = self.list.currentRow()
        return self.columns[at] if 0 <= at < len(self.columns) else None

    def _update(self, *_args) -> None:
        column = self.chosen_column()
        rootless = (column is not None and column.kind == "path" and not self.has_file
                    and not self.root.text().strip())
        self.build_button.setEnabled(column is not None and column.kind != "url"
                                     and not rootless)
        self.root_box.setVisible(column is not None and column.kind in ("path", "struct"))
        if column is not None and column.kind == "url":
            self.note.setText(f"“{html.escape(column.name)}” holds only URLs: this app never "
                              "fetches from the network. Download the images and point a "
                              "path column at them.")
        elif rootless:
            self.note.setText(NO_FILE)
        else:
            self.note.setText(NONE_FOUND if not self.columns else
                              "Choose the column that holds the items' images:")

    def source(self):
        """The `ImageSource` chosen (None when nothing usable is)."""
        from explorer.compute.thumbnails import ImageSource

        column = self.chosen_column()
        if column is None or column.kind == "url":
            return None
        root = self.root.text().strip() or None
        return ImageSource(column.name, column.kind, root if column.kind != "bytes" else None)
