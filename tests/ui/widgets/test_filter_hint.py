"""Filter hints are written in the set's own columns, so the example can be typed as is."""

import pyarrow as pa

from explorer.ui.widgets.filter_hint import NO_EXAMPLE, filter_example


def test_the_example_names_a_category_and_a_number_of_this_set():
    table = pa.table({"title": [f"paper {i}" for i in range(50)],
                      "topic": ["physics", "history"] * 25,
                      "year": list(range(1990, 2040))})
    assert filter_example(table) == "topic = 'physics' and year > 10"


def test_awkward_names_are_quoted_and_no_columns_give_the_general_phrase():
    table = pa.table({"my topic": ["a", "b", "a", "a"]})
    assert filter_example(table) == "\"my topic\" = 'a'"
    assert filter_example(pa.table({"row": pa.array([], pa.int64())}).drop(["row"])) == NO_EXAMPLE
    assert filter_example(None) == NO_EXAMPLE
