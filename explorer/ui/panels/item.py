"""The item inspector: everything known about the row the user is looking at."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.base import Area, Panel, PanelContext


class ItemView(Panel):
    key = "item"
    title = "Item"
    area = Area.LEFT

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.error_line)
        layout.addWidget(self.browser)
        self.state.currentChanged.connect(lambda row, _src: self.show_row(row))
        self.show_row(-1)

    def new_set(self, es: EmbeddingSet | None) -> None:
        self.show_row(-1)

    def show_row(self, row: int) -> None:
        es: EmbeddingSet | None = self.state.embedding_set
        if es is None or row < 0 or row >= es.count:
            self.browser.setHtml("<p style='color:gray'>Click a row to see the item here.</p>")
            return
        record = es.metadata.slice(row, 1).to_pylist()[0]
        title = html.escape(es.label(row))
        parts = [f"<h3>{title}</h3><p style='color:gray'>row {row} of {es.count:,}</p><table>"]
        text_col = es.text_column
        for key, value in record.items():
            if key == text_col:
                continue
            shown = html.escape(str(value))[:300]
            parts.append(f"<tr><td style='color:gray;padding-right:8px'>{html.escape(key)}</td>"
                         f"<td>{shown}</td></tr>")
        parts.append("</table>")
        if text_col and record.get(text_col):
            parts.append("<hr><p style='white-space:pre-wrap'>"
                         f"{html.escape(str(record[text_col]))}</p>")
        vec = es.vectors[row]
        head = ", ".join(f"{v:.3g}" for v in vec[:8])
        parts.append(f"<p style='color:gray'>vector ({es.dim}): [{head}{', …' if es.dim > 8 else ''}]</p>")
        self.browser.setHtml("".join(parts))
