"""The neighbours panel's back / forward list of queries, as a browser keeps pages."""

from __future__ import annotations

from dataclasses import dataclass, field

from explorer.compute.neighbours_query import QuerySpec

HISTORY = 200  # queries kept for back / forward


@dataclass
class QueryHistory:
    specs: list[QuerySpec] = field(default_factory=list)
    pos: int = -1  # the query shown, -1 for none

    def push(self, spec: QuerySpec) -> None:
        """A new query: what was ahead of the current one is dropped, as after a new page."""
        if spec.same(self.specs[self.pos] if self.pos >= 0 else None):
            return
        del self.specs[self.pos + 1:]
        self.specs.append(spec)
        if len(self.specs) > HISTORY:
            del self.specs[0]
        self.pos = len(self.specs) - 1

    def can_go(self, step: int) -> bool:
        return self.pos >= 0 and 0 <= self.pos + step < len(self.specs)

    def go(self, step: int) -> QuerySpec:
        """The query `step` places back (-1) or forward (+1), which becomes the current one."""
        self.pos += step
        return self.specs[self.pos]
