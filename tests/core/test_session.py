"""Session files: round trip, forward compatibility, damaged files, compact selections."""

import json

import numpy as np
import pyarrow as pa
import pytest

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.core.session import (FORMAT, SCHEMA_VERSION, Session, SetRef, decode_rows,
                                   encode_rows, find_set, is_session_path)


def sample_session() -> Session:
    return Session(
        set=SetRef("news", "News", 5000, 16, ["/data/news.parquet"]),
        selection=np.array([3, 4, 5, 9, 4000], dtype=np.int64), current=9,
        panels={"map": {"projection": {"method": "umap", "n_neighbors": 15},
                        "colour_by": "section", "hidden": ["sport"], "point_size": 3},
                "neighbours": {"k": 25, "metric": "l2", "source": "centroid"},
                "concepts": {"current": "tone", "plane_x": "tone", "plane_y": "length"},
                "compression": {"methods": "fp16,sq8", "k": 20, "budget": 0.25},
                "table": {"filter": "size > 3", "search": ""}},
        window_geometry=b"\x01\xd9\xd0\xcb geometry", window_state=b"\x00\xff state")


def test_round_trip(tmp_path):
    path = sample_session().save(tmp_path / "work.eesession")
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["schema_version"] == SCHEMA_VERSION
    assert data["set"]["id"] == "news" and "path" not in data["set"]
    assert data["selection"] == {"count": 5, "ranges": [[3, 6], [9, 10], [4000, 4001]]}
    back = Session.load(path)
    want = sample_session()
    for name in ("set", "current", "panels", "window_geometry", "window_state"):
        assert getattr(back, name) == getattr(want, name), name
    np.testing.assert_array_equal(back.selection, want.selection)
    assert back.warnings == [] and back.extra == {}
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temp file and renamed


def test_unknown_fields_are_kept_and_ignored(tmp_path):
    data = sample_session().to_dict()
    data["annotations"] = [{"row": 3, "note": "odd"}]
    data["panels"]["map"]["lighting"] = "soft"
    path = tmp_path / "old.eesession"
    path.write_text(json.dumps(data))
    back = Session.load(path)
    assert back.warnings == []
    assert back.panels["map"]["lighting"] == "soft"  # the map panel ignores keys it does not know
    assert back.save(tmp_path / "again.eesession")
    again = json.loads((tmp_path / "again.eesession").read_text())
    assert again["annotations"] == [{"row": 3, "note": "odd"}]


def test_newer_version_opens_with_a_warning(tmp_path):
    data = sample_session().to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    path = tmp_path / "new.eesession"
    path.write_text(json.dumps(data))
    back = Session.load(path)
    assert back.set.id == "news" and back.current == 9
    assert len(back.warnings) == 1 and "newer" in back.warnings[0]


@pytest.mark.parametrize("text, message", [
    ("{not json", "broken JSON"),
    ("[1, 2]", "not an Embedding Explorer session"),
    (json.dumps({"format": FORMAT}), "schema_version"),
    (json.dumps({"format": FORMAT, "schema_version": 1, "current": "x"}), "'current'"),
    (json.dumps({"format": FORMAT, "schema_version": 1, "set": {"id": 3}}), "field 'set'"),
    (json.dumps({"format": FORMAT, "schema_version": 1,
                 "set": {"id": "a", "name": "a", "count": 10, "dim": 4},
                 "selection": {"count": 1, "ranges": [[12, 13]]}}), "names row 12"),
    (json.dumps({"format": FORMAT, "schema_version": 1,
                 "selection": {"count": 3, "length": 9, "bitmap": "!!"}}), "base64 zlib"),
    (json.dumps({"format": FORMAT, "schema_version": 1,
                 "window": {"state": "@@"}}), "'window.state'"),
])
def test_damaged_file_names_file_and_problem(tmp_path, text, message):
    path = tmp_path / "bad.eesession"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        Session.load(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such session file"):
        Session.load(tmp_path / "nope.eesession")
    with pytest.raises(InputError, match="is a folder"):
        Session.load(tmp_path)
    binary = tmp_path / "bin.eesession"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        Session.load(binary)


def test_large_scattered_selection_stays_small(tmp_path):
    rng = np.random.default_rng(0)
    rows = np.flatnonzero(rng.random(1_000_000) < 0.3)  # 300k rows, ~210k separate runs
    path = Session(set=SetRef("big", "big", 1_000_000, 8), selection=rows).save(
        tmp_path / "big.eesession")
    assert path.stat().st_size < 200_000  # the raw bitmap alone is 125 kB
    assert "bitmap" in json.loads(path.read_text())["selection"]
    np.testing.assert_array_equal(Session.load(path).selection, rows)


def test_large_contiguous_selection_is_ranges():
    rows = np.concatenate([np.arange(10, 600_000), np.arange(700_000, 1_000_000)])
    assert encode_rows(rows) == {"count": len(rows), "ranges": [[10, 600_000],
                                                                [700_000, 1_000_000]]}
    assert encode_rows(np.zeros(0, dtype=np.int64)) == {"count": 0, "ranges": []}


@pytest.mark.parametrize("data", [
    {"count": 2, "ranges": [[5, 3]]},
    {"count": 2, "ranges": [[0, 2], [1, 4]]},
    {"count": 3, "ranges": [[0, 2]]},
    {"count": 1, "length": 8, "bitmap": "eJxjAAAAAQAB"},  # one zero byte: no row set
    {"count": 1},
])
def test_bad_selections_are_refused(data):
    with pytest.raises(ValueError):
        decode_rows(data)


def test_is_session_path():
    assert is_session_path("/a/b/Work.EESESSION")
    assert not is_session_path("/a/b/data.parquet")


def make_set(n=40, d=8, name="Articles") -> EmbeddingSet:
    rng = np.random.default_rng(1)
    return EmbeddingSet(rng.normal(size=(n, d)).astype(np.float32),
                        pa.table({"id": [f"a{i}" for i in range(n)]}), name=name, format="test")


def test_find_set_by_id_and_missing_or_changed(tmp_path):
    library = Library(tmp_path / "lib")
    entry = library.import_set(make_set())
    found, problem = find_set(library, SetRef(entry.id, "Articles", 40, 8))
    assert found.id == entry.id and problem is None
    found, problem = find_set(library, SetRef("gone", "Old news", 40, 8, ["/nowhere.npy"]))
    assert found is None and "“Old news” (gone) is no longer in the library" in problem
    found, problem = find_set(library, SetRef(entry.id, "Articles", 41, 8))
    assert found is None and "now holds 40 × 8" in problem


def test_a_format_1_file_opens_with_its_panels_gathered(tmp_path):
    """Format 1 kept each view's settings at the top level."""
    data = sample_session().to_dict()
    panels = data.pop("panels")
    data.update(schema_version=1, **panels)
    path = tmp_path / "v1.eesession"
    path.write_text(json.dumps(data))
    back = Session.load(path)
    assert back.panels == panels and back.warnings == [] and back.extra == {}
    again = json.loads(back.save(tmp_path / "v2.eesession").read_text())
    assert again["schema_version"] == SCHEMA_VERSION == 2 and again["panels"] == panels
    assert "map" not in again


@pytest.mark.parametrize("panels, warning", [
    ([1, 2], "field 'panels' should be an object"),
    ({"map": [1], "table": {"filter": "x"}}, "the 'map' panel should be an object"),
    ({"map": "x" * 10_000_000}, "the 'map' panel should be an object, not str"),
    ({"p" * 5000: {}}, "no panel has such a long name"),
])
def test_damaged_panel_entries_are_warnings_not_errors(tmp_path, panels, warning):
    data = sample_session().to_dict()
    data["panels"] = panels
    path = tmp_path / "hostile.eesession"
    path.write_text(json.dumps(data))
    back = Session.load(path)
    assert back.set.id == "news" and back.current == 9
    assert len(back.warnings) == 1 and warning in back.warnings[0]
    assert len(back.warnings[0]) < 300
    assert all(isinstance(v, dict) for v in back.panels.values())


def test_a_format_1_view_of_the_wrong_type_is_a_warning(tmp_path):
    path = tmp_path / "v1.eesession"
    path.write_text(json.dumps({"format": FORMAT, "schema_version": 1, "map": [1],
                                "table": {"filter": "a > 1"}}))
    back = Session.load(path)
    assert back.panels == {"table": {"filter": "a > 1"}}
    assert "the 'map' panel should be an object" in back.warnings[0]


def test_deeply_nested_json_is_refused_not_a_crash(tmp_path):
    path = tmp_path / "deep.eesession"
    path.write_text('{"format": "%s", "schema_version": 2, "panels": {"map": %s1%s}}'
                    % (FORMAT, "[" * 100_000, "]" * 100_000))
    with pytest.raises(InputError, match="nested too deeply"):
        Session.load(path)
