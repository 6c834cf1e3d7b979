"""`take_screenshot` draws the layout a user gets and says where each panel is."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtGui import QImage

from explorer.cli.app import VIEWS
from explorer.ui.panels.charts.widgets import ACCENT
from explorer.ui.screenshot import take_screenshot

N = 2000


@pytest.fixture
def set_file(explorer_home, tmp_path):
    rng = np.random.default_rng(7)
    path = tmp_path / "articles.parquet"
    pq.write_table(pa.table({
        "id": [f"a{i}" for i in range(N)],
        "section": np.array(["games", "world", "sport"])[np.arange(N) % 3],
        "embedding": list(rng.normal(size=(N, 16)).astype(np.float32))}), path)
    return path


def share(shot, key) -> float:
    _x, _y, w, h = shot.panels[key]
    return w * h / (shot.size[0] * shot.size[1])


def test_map_view_geometry_at_the_default_size(qapp, set_file, tmp_path):
    shot = take_screenshot(str(set_file), tmp_path / "map.png", view="map")
    assert shot.size == (1400, 900)
    assert QImage(str(shot.path)).size().toTuple() == (1400, 900)
    assert {"map", "library", "item", "table"} <= set(shot.panels)
    assert share(shot, "map") >= 0.45
    for key, (x, y, w, h) in shot.panels.items():
        assert w >= 320, key
        assert x >= 0 and y >= 0 and x + w <= 1400 and y + h <= 900, key
    data = shot.to_dict()
    assert data["size"] == [1400, 900] and data["panels"]["map"] == list(shot.panels["map"])


def test_compression_view_gets_a_third_of_the_window(qapp, set_file, tmp_path):
    shot = take_screenshot(str(set_file), tmp_path / "compression.png", view="compression")
    assert share(shot, "compression") >= 0.35
    assert "map" in shot.panels and "table" not in shot.panels


def test_charts_view_shows_the_charts_drawn_and_counted(qapp, set_file, tmp_path):
    assert "charts" in VIEWS  # `screenshot --view charts`
    shot = take_screenshot(str(set_file), tmp_path / "charts.png", view="charts")
    x, y, w, h = shot.panels["charts"]
    assert w >= 320 and h >= 300 and "map" in shot.panels
    image = QImage(str(shot.path))
    accent = ACCENT.rgb()  # the bars of the rows that pass (all of them: no filter)
    bars = sum(image.pixel(px, py) == accent
               for px in range(x, x + w, 2) for py in range(y, y + h, 2))
    assert bars > 500  # three bars of about 667 rows each, drawn, not a placeholder
