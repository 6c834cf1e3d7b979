"""The map's Qt-free decisions: legend notes, where the view looks."""

import numpy as np

from explorer.core.colouring import OTHER, Colouring
from explorer.ui.panels.map import model


def categories(column: str, counts: list[int]) -> Colouring:
    labels = [f"v{i}" for i in range(len(counts) - 1)] + [OTHER]
    return Colouring(column, "categorical", labels=labels, counts=counts)


def test_the_legend_says_when_a_column_has_more_values_than_colours():
    assert model.too_many_note(Colouring("a", "categorical", labels=["x", "y"],
                                         counts=[3, 4]), 2) == ""
    few = model.too_many_note(categories("area", [50] * 19 + [279]), 30)
    assert "30 distinct values" in few and "too many" not in few and "other 279 items" in few
    text = model.too_many_note(categories("text", [2] * 19 + [4894]), 4913)
    assert "4,913 distinct values, too many to colour by" in text
    assert "only the 19 most common" in text and "other 4,894 items" in text
    # a column whose own values include "(other)", none pooled: nothing to explain
    literal = Colouring("c", "categorical", labels=[OTHER, "x", "y"], counts=[9, 3, 2])
    assert model.too_many_note(literal, 3) == ""


def test_fit_and_frame_boxes():
    xy = np.array([[0, 0], [10, 5], [np.nan, 1], [5, 2]], dtype=np.float32)
    assert model.fit_box(xy, robust=False) == (0.0, 0.0, 10.0, 5.0)
    assert model.fit_box(None, robust=True) is None
    x, y, w, h = model.frame_box(xy, np.array([3, 99]))  # rows out of range are ignored
    assert (x + w / 2, y + h / 2) == (5.0, 2.0) and 0.9 < w == h  # a tenth of the map around
    assert model.frame_box(xy, np.array([2])) is None  # no finite position


def test_a_saved_map_is_checked_value_by_value():
    saved = model.read_saved_map({
        "point_size": True, "search": 3, "colour_by": "@fidelity", "hidden": ["a", 1, None],
        "view": [0, 0, float("inf"), 1], "concept_plane": "yes",
        "projection": {"method": "pca", "sample": 400, "from_the_future": 1}})
    assert saved.point_size is None and saved.search is None
    assert saved.colour == model.FIDELITY and saved.hidden == {"a"}
    assert saved.view is None and saved.plane is False
    assert saved.projection.method == "pca" and saved.projection.sample == 400
    assert saved.notes == []
    bad = model.read_saved_map({"point_size": 99, "view": [0, 0, -1, 1],
                                "projection": {"method": "pca", "sample": "many"}})
    assert bad.point_size is None and bad.view is None and bad.projection is None
    assert bad.notes and "projection was not understood" in bad.notes[0]
    good = model.read_saved_map({"point_size": 4, "view": [1, 2, 3, 4], "colour_by": "",
                                 "concept_plane": True})
    assert (good.point_size, good.view, good.colour, good.plane) == (4, (1.0, 2.0, 3.0, 4.0),
                                                                     "", True)


def test_the_line_under_the_map_gives_this_machine_s_seconds_not_the_shipped_map_s():
    """The shipped demo's map was laid out on the build machine: its seconds say nothing here."""
    made = {"method": "umap", "seconds": 6.9, "trustworthiness": 0.95}
    assert model.info_text(made) == "UMAP  ·  6.90 s  ·  trustworthiness 0.950"
    shipped = model.info_text({**made, "shipped": True, "cached": True})
    assert shipped == "UMAP  ·  shipped with the app  ·  trustworthiness 0.950"


def test_the_line_under_the_map_names_the_method_as_its_menu_does():
    assert model.info_text({"method": "tsne", "seconds": 2.0}) == "t-SNE  ·  2.00 s"
    assert model.info_text({"method": "identity", "seconds": 0.0}) == \
        "As given: the set's own coordinates  ·  0.00 s"
    assert model.info_text({"method": "gone-plugin"}) == "GONE-PLUGIN"
