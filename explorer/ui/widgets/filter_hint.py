"""Filter boxes' hints written in the set's own columns, so an example reads as one.

A hint naming another set's columns (the demo's `kind = 'function'`) would be a
filter that fails on this set; one built from this set's columns can be typed as is.
"""

from __future__ import annotations

import pyarrow as pa

NO_EXAMPLE = "a WHERE expression over the metadata columns"


def filter_example(table: pa.Table | None) -> str:
    """An example filter over this set's own columns: its most repetitive short text column
    (a category) and its first numeric one; a general phrase when it has neither."""
    if table is None:
        return NO_EXAMPLE
    head = table.slice(0, 200)
    numeric, category = None, None
    for name, kind in zip(table.column_names, table.schema.types):
        quoted = name if name.isidentifier() else '"' + name.replace('"', '""') + '"'
        if numeric is None and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            numeric = f"{quoted} > 10"
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            values = [v for v in head.column(name).to_pylist()
                      if isinstance(v, str) and 0 < len(v) <= 20 and "'" not in v]
            if values and (category is None or len(set(values)) / len(values) < category[0]):
                category = (len(set(values)) / len(values), f"{quoted} = '{values[0]}'")
    parts = [part for part in (category[1] if category else None, numeric) if part]
    return " and ".join(parts) if parts else NO_EXAMPLE
