"""`compare SET_A SET_B`: how two sets of the same items differ, item by item
(explorer.compute.compare; the JSON object is `Comparison.to_dict`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli.command import Command, add_json, open_set, progress

JOINS = ("auto", "id", "row")  # compute.compare.JOINS, not imported: the CLI starts light
SHOWN = 5  # items and categories a human summary lists


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    for name in ("SET_A", "SET_B"):
        parser.add_argument(name.lower(), metavar=name,
                            help="a file, a library id or name, or 'demo'")
    parser.add_argument("-k", type=int, default=10,
                        help="neighbours compared per item (default 10)")
    parser.add_argument("--join", choices=JOINS, default="auto",
                        help="pair items by their id columns or by row order (default: by id "
                             "when both sets have one)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="compare the neighbours of N seeded items (each still searched "
                             "among all items; default: every item)")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed")
    parser.add_argument("--by", metavar="COLUMN",
                        help="mean overlap per value of this metadata column")
    parser.add_argument("--out", type=Path, metavar="FILE.parquet",
                        help="write the per-item table (overlap, rank correlation, residual)")
    add_json(parser)


def run_compare(args: argparse.Namespace) -> dict:
    from explorer.compute.compare import compare_sets
    from explorer.core.export import check_table_path, write_table

    if args.out is not None:
        check_table_path(args.out)  # before the comparison, not after it
    state = progress(args)
    a = open_set(args.set_a, state.sub(0, 0.05))
    b = open_set(args.set_b, state.sub(0.05, 0.1))
    comparison = compare_sets(a, b, k=args.k, join=args.join, sample=args.sample, by=args.by,
                              seed=args.seed, state=state.sub(0.1, 1))
    result = comparison.to_dict(a, b)
    if args.out is not None:
        result["out"] = str(write_table(comparison.to_arrow(a), args.out))
    return result


def print_compare(r: dict) -> None:
    items = f"a sample of {r['sampled']:,} of {r['count']:,}" if r["sampled"] \
        else f"{r['count']:,}"
    print(f"{r['a']} vs {r['b']}: {items} items, joined by {r['join']}, k = {r['k']}")
    report = r["join_report"]
    lost = [f"{report[key]:,} {words}" for key, words in (
        ("only_in_a", "only in A"), ("only_in_b", "only in B"),
        ("duplicated_in_a", "repeated in A"), ("duplicated_in_b", "repeated in B")) if report[key]]
    if lost:
        print("not joined: " + ", ".join(lost))
    print(f"neighbour overlap: mean {r['mean_overlap']:.3f}, median {r['median_overlap']:.3f} "
          f"(chance {r['chance_overlap']:.3f})")
    rho = r["rank_correlation"]
    residual = r["procrustes_residual"]
    print("shared neighbours' rank correlation "
          + ("n/a" if rho is None else f"{rho:.3f}") + f"; linear CKA {r['cka']:.3f}; "
          + ("Procrustes residual n/a (" + f"{r['dim_a']} vs {r['dim_b']} dimensions)"
             if residual is None else f"Procrustes residual {residual:.3f}"))
    for key, words in (("most_changed", "most changed"), ("least_changed", "least changed")):
        print(f"{words}: " + ", ".join(f"{item['label']} ({item['overlap']:.2f})"
                                       for item in r[key][:SHOWN]))
    if r.get("by_category"):
        print(f"by {r['by']}: " + ", ".join(
            f"{name} {v['mean_overlap']:.2f} ({v['count']:,})"
            for name, v in list(r["by_category"].items())[:SHOWN]))
    if r["out"]:
        print(f"per-item table: {r['out']}")


COMPARE = Command("compare", "how two sets of the same items differ: neighbour overlap per "
                             "item, CKA, Procrustes", add_compare_arguments, run_compare,
                  print_compare)
