"""The line under the neighbour list names the index in words, IVF-PQ included."""

from explorer.compute.neighbours import IndexInfo
from explorer.ui.panels.neighbours.index_text import describe_index


def test_an_ivfpq_index_is_named_with_its_recall_and_origin():
    info = IndexInfo("ivfpq", "cosine", 63_436, 384, 39.7, 5_754_364, exact=False,
                     recall_at_10=0.9475, recall_queries=200, reused=True)
    assert describe_index(info) == ("IVF-PQ · recall@10 0.948 (200 sampled queries) · 5.5 MB · "
                                    "from the library")


def test_the_exact_scan_says_how_many_rows_it_read():
    info = IndexInfo("flat", "cosine", 63_436, 384, 0.0, 0, exact=True)
    assert describe_index(info) == "exact scan of 63,436 × 384"
