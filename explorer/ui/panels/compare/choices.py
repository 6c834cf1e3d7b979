"""Which sets the Compare panel offers as set B, and in what order.

A copy the current set made (a concept removed, vectors compressed or truncated: the app
stores such copies with format "derived" and the set's library id as their source) is what a
user most likely wants to compare with, so those come first; then sets of the same size
(likely the same items under another model), then the rest by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.core.manifest import LibraryEntry

JOIN_TIPS = {"auto": "By id when both sets have an id column, else row by row",
             "id": "Items with the same id (both sets need an id column)",
             "row": "Row i of A with row i of B (copies the app made keep the rows)"}


@dataclass(frozen=True)
class Choice:
    """One set offered as B."""

    id: str
    text: str  # what the combo shows
    derived: bool  # a copy the current set made
    tip: str
    count: int


def made_from(entry: LibraryEntry, set_id: str | None) -> bool:
    """`entry` is a copy the app derived from the set `set_id` (concepts removed, ...)."""
    return set_id is not None and entry.format == "derived" and set_id in entry.source


def choices(entries: list[LibraryEntry], current_id: str | None,
            current_count: int | None = None) -> list[Choice]:
    """The library's sets other than the current one, its copies first."""
    out = []
    for e in entries:
        if e.id == current_id:
            continue
        derived = made_from(e, current_id)
        text = f"{e.name} ({e.count:,} × {e.dim})" + ("  · copy of this set" if derived else "")
        tip = "; ".join(e.notes[-1:]) if derived and e.notes else \
            f"{e.count:,} items, {e.dim} dimensions, {e.metric}" + \
            (f", model {e.model}" if e.model else "")
        out.append(Choice(e.id, text, derived, tip, e.count))
    out.sort(key=lambda c: (not c.derived, c.count != current_count, c.text.lower()))
    return out
