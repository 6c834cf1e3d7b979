"""Files to encode, read as items: text chunks, table rows, images (Qt-free)."""

from explorer.core.inputs.items import InputOptions, Item, Skipped
from explorer.core.inputs.plan import InputPlan

__all__ = ["InputOptions", "InputPlan", "Item", "Skipped"]
