"""Counting numba's compiles in a process: what tells a warm start from a cold one.

numba raises a "numba:compile" event for each signature it compiles, and none when it
loads machine code from its disk cache, so the count is 0 exactly when every kernel came
from the cache. `embedding-explorer --selftest` prints it, and installer/ci-bundle.sh
requires 0 from a bundle on a new HOME (the kernels it ships loaded).
"""

from __future__ import annotations

from numba.core import event


class CompileCounter:
    """The kernels numba compiled in this process, by name, between `start` and `stop`."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.listener: event.Listener | None = None

    def start(self) -> None:
        names = self.names

        class Listener(event.Listener):
            def on_start(self, ev: event.Event) -> None:
                func = getattr(ev.data.get("dispatcher"), "py_func", None)
                names.append(getattr(func, "__qualname__", "?"))

            def on_end(self, ev: event.Event) -> None:
                pass

        self.listener = Listener()
        event.register("numba:compile", self.listener)

    def stop(self) -> None:
        if self.listener is not None:
            event.unregister("numba:compile", self.listener)
            self.listener = None

    def summary(self) -> str:
        """`numba compiles: N (first names ...)`: the line ci-bundle.sh reads."""
        distinct = sorted(set(self.names))
        shown = ", ".join(distinct[:8]) + (" ..." if len(distinct) > 8 else "")
        return f"numba compiles: {len(self.names)}" + (f" ({shown})" if distinct else "")
