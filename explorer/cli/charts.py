"""`charts`: what the Charts panel shows, as JSON: each column's bars or bins with counts for the
whole set and for the rows a filter lets through (explorer.core.column_charts).

`--where` is the same SQL the table's filter box and the panel's "Copy as SQL" give, so a
filter made by clicking in the app can be counted here, and the other way round.
"""

from __future__ import annotations

import argparse
import time

from explorer.cli.command import Command, add_json, add_set_path, open_set, progress


def add_charts_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_path(parser)
    parser.add_argument("--columns", nargs="+", metavar="COLUMN",
                        help="the columns to chart (default: the app's choice, up to 4 columns "
                             "of categories, numbers or dates, not free text or ids)")
    parser.add_argument("--where", metavar="EXPR",
                        help="count the rows this SQL filter lets through too, e.g. "
                             "\"section = 'games' AND installed_kb >= 100\"")
    add_json(parser)


def run_charts(args: argparse.Namespace) -> dict:
    from explorer.core.column_charts import (CATEGORIES, ChartData, Masks, cross_counts,
                                             default_columns, describe_columns)
    from explorer.core.metadata import metadata_file

    start = time.perf_counter()
    state = progress(args)
    es = open_set(args.path, state.sub(0, 0.2))
    data = ChartData(es.metadata, metadata_file(es))
    kinds = describe_columns(es.metadata)
    columns = args.columns or default_columns(kinds)
    charts = {c: data.prepare(c, state) for c in dict.fromkeys(columns)}
    parts = {"where": data.rows(args.where)} if args.where else {}
    counted = cross_counts(charts, {}, Masks(es.count, parts))
    out = []
    for column, chart in charts.items():
        counts = counted[column].counts
        entry: dict = {"column": column, "kind": chart.kind, "unit": chart.unit}
        bars = []
        if chart.kind == CATEGORIES:
            for i, label in enumerate(chart.labels):  # the top values, then "(other)"
                bar = {"label": label, "part": chart.part_for_bars([i]).sql,
                       "count": int(chart.total[i]), "filtered": int(counts.filtered[i])}
                bars.append({"value": chart.values[i], **bar} if i < len(chart.values)
                            else {"other": True, **bar})
            entry |= {"other_rows": chart.other, "distinct": chart.distinct}
        else:
            for i in range(len(chart.total)):
                part = chart.part_for_bins(i, i)
                bars.append({"low": part.low, "high": part.high, "part": part.sql,
                             "count": int(chart.total[i]), "filtered": int(counts.filtered[i])})
            entry["scale"] = chart.bins.scale
        entry |= {"bars": bars, "missing": chart.missing}
        out.append(entry)
    data.close()
    return {"set": es.library_id or es.name, "rows": es.count,
            "where": args.where or "", "filtered": int(counted[columns[0]].counts.filtered_rows)
            if columns else es.count,
            "charts": out, "seconds": round(time.perf_counter() - start, 3)}


def print_charts(result: dict) -> None:
    print(f"{result['rows']:,} rows" + (f", {result['filtered']:,} where {result['where']}"
                                        if result["where"] else ""))
    for chart in result["charts"]:
        print(f"\n{chart['column']} ({chart['kind']})")
        top = max((b["count"] for b in chart["bars"]), default=0) or 1
        for bar in chart["bars"]:
            label = bar.get("label") or f"{bar['low']} – {bar['high']}"
            shown = f"{bar['filtered']:,} of {bar['count']:,}" if result["where"] \
                else f"{bar['count']:,}"
            print(f"  {label[:28]:>28}  {'#' * round(24 * bar['count'] / top):<24}  {shown}")


CHARTS = Command("charts", "each metadata column's bars or histogram, for the whole set and a "
                           "filter (what the Charts panel shows)",
                 add_charts_arguments, run_charts, print_charts)
