"""The item panel: the item looked at (its picture, its text in its file) and the selection."""

from explorer.ui.panels.item.panel import ItemView

__all__ = ["ItemView"]
