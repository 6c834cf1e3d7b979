"""A small stored set ("articles", 600 rows in three sections) for the panel tests, and a
window that has opened it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library

N, D = 600, 8
WAIT = 30000  # ms: only how long a broken job may hang a test before it fails
SECTIONS = np.array(["games", "web", "art"])[np.arange(N) % 3]


def store_articles(home, columns: dict | None = None, **set_options) -> Library:
    """The library at `home` holding "articles": ids `a0`…, `section` and `columns`."""
    rng = np.random.default_rng(7)
    library = Library(home)
    table = pa.table({"id": [f"a{i}" for i in range(N)], "section": SECTIONS,
                      **(columns or {})})
    library.import_set(EmbeddingSet(rng.normal(size=(N, D)).astype(np.float32), table,
                                    name="articles", format="test", id_column="id",
                                    **set_options))
    return library


def open_articles(qtbot, windows):
    """A shown window with "articles" open."""
    window = windows()
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_library_set("articles")
    return window
