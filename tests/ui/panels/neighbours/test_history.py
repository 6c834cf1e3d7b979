"""Back and forward through the neighbour queries, as a browser goes through pages."""

from explorer.compute.neighbours_query import QuerySpec
from explorer.ui.panels.neighbours import history
from explorer.ui.panels.neighbours.history import QueryHistory


def row(i: int) -> QuerySpec:
    return QuerySpec("row", row=i)


def test_back_forward_and_a_new_query_drops_what_was_ahead():
    h = QueryHistory()
    assert not h.can_go(-1) and not h.can_go(1)
    for i in range(3):
        h.push(row(i))
    h.push(row(2))  # the same again adds nothing
    assert len(h.specs) == 3 and h.can_go(-1) and not h.can_go(1)
    assert h.go(-1).row == 1 and h.go(-1).row == 0 and not h.can_go(-1)
    assert h.go(1).row == 1
    h.push(row(7))
    assert [s.row for s in h.specs] == [0, 1, 7] and not h.can_go(1)


def test_only_the_newest_queries_are_kept(monkeypatch):
    monkeypatch.setattr(history, "HISTORY", 3)
    h = QueryHistory()
    for i in range(5):
        h.push(row(i))
    assert [s.row for s in h.specs] == [2, 3, 4] and h.pos == 2
