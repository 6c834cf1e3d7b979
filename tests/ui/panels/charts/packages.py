"""The stored "packages" set the Charts tests open, and a wait for the charts to settle."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library

D = 8
WAIT = 30000  # ms: only how long a broken job may hang a test before it fails


def store_packages(home, metadata: pa.Table) -> Library:
    """The library at `home` holding "packages": random vectors beside `metadata`."""
    rng = np.random.default_rng(4)
    library = Library(home)
    library.import_set(EmbeddingSet(rng.normal(size=(metadata.num_rows, D)).astype(np.float32),
                                    metadata, name="packages", format="test", id_column="id"))
    return library


def settle(qtbot, win) -> None:
    """Until the charts have answered and the table has applied the filter, twice over (an
    answer may start another job)."""
    view = win.panels["charts"]
    qtbot.waitUntil(lambda: not view.busy() and not win.table_view.jobs.running("filter")
                    and set(view.widgets) == set(view.columns), timeout=WAIT)
    qtbot.wait(20)
    qtbot.waitUntil(lambda: not view.busy(), timeout=WAIT)
