"""A sharded set opened in the desktop app: its table filters and searches the shards in place,
its map is drawn from a sample, its charts count the metadata in memory."""

import numpy as np
import pytest
from articles import WAIT

from explorer.core.library import Library
from explorer.core.shard_import import import_shards

from shard_writer import clustered, write_shards

N = 900


@pytest.fixture
def library(explorer_home, tmp_path):
    write_shards(tmp_path / "run", clustered(N, 8), 3, "parquet")
    library = Library(explorer_home)
    import_shards(library, [tmp_path / "run"], layout="sharded", name="run")
    return library


def test_the_table_filters_and_searches_the_shards(qtbot, windows):
    window = windows()
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_library_set("run")
    view = window.table_view
    view.filter_edit.setText("size < 30 and grp = 'a'")
    with qtbot.waitSignal(view.queryFinished, timeout=WAIT):
        view.filter_edit.returnPressed.emit()
    grp = window.state.embedding_set.metadata.column("grp").to_numpy(zero_copy_only=False)
    want = [r for r in range(30) if grp[r] == "a"]
    assert not view.message.isVisible(), view.message.text()
    np.testing.assert_array_equal(window.state.filter.rows, want)
    with qtbot.waitSignal(view.queryFinished, timeout=WAIT):
        view.search_edit.setText("item 17")
    assert [view.model.source_row(r) for r in range(view.model.rowCount())] == \
        [r for r in want if str(r).startswith("17")]
