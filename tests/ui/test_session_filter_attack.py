"""A shared session file whose table filter tries to read a local file reads nothing.

Opening a session applies its table filter with no user action, so the filter is as
untrusted as the file: it must be refused in the table's message line, naming what.
"""

import numpy as np
import pyarrow as pa

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.core.session import Session, SetRef
from explorer.ui.main_window import MainWindow

SECRET = "s3cr3t-line-of-a-local-file"
N, D = 200, 8
WAIT = 60000


def test_hostile_session_filter_is_refused_and_reads_nothing(qtbot, explorer_home, tmp_path):
    rng = np.random.default_rng(5)
    lib = Library(explorer_home)
    entry = lib.import_set(EmbeddingSet(
        rng.normal(size=(N, D)).astype(np.float32),
        pa.table({"id": [f"a{i}" for i in range(N)], "size": np.arange(N)}),
        name="articles", format="test", id_column="id"))
    secret = tmp_path / "passwd"
    secret.write_text(SECRET + "\n")
    attack = f"CAST((SELECT content FROM read_text('{secret}')) AS INTEGER) = 1"
    path = Session(set=SetRef(entry.id, "articles", N, D),
                   panels={"table": {"filter": attack, "search": ""}}).save(tmp_path / "shared.eesession")

    win = MainWindow(lib, restore=False)
    qtbot.addWidget(win)
    win.show()
    try:
        table = win.table_view
        with qtbot.waitSignal(table.queryFinished, timeout=WAIT):
            win.open_paths([str(path)])
        assert table.message.isVisible()
        shown = table.message.text()
        assert "subquery" in shown and SECRET not in shown
        assert table.model.rowCount() == N  # nothing filtered by a refused expression
    finally:
        win.jobs.shutdown()
