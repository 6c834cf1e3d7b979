"""Compression workbench (headless): what each compression does to a set's neighbours.

    from explorer.compute.compression import evaluate
    ev = evaluate(es, ["fp16", "sq8", "pq16", "binary-rerank100", "pca96-sq8"], k=10)
    ev.to_dict()  # {"k", "queries", "metric", "methods": [{"name", "bytes_per_vector", ...}]}

methods.py names the methods and their exact bytes per vector, codecs.py trains and
searches them (faiss), measures.py compares neighbour lists, workbench.py runs a sweep
(`evaluate`) with caching, progress and cancel, pareto.py picks what is worth its
bytes. Never imports Qt.
"""

from explorer.compute.compression.codecs import (OPQ_NITER, PQ_NITER, TRAIN_ROWS, Codec,
                                                 train_rows)
from explorer.compute.compression.workbench import (DEFAULT_QUERIES, KIND, RECALL_AT, Evaluation,
                                                   MethodResult, evaluate, metric_rows)
from explorer.compute.compression.measures import (TIE_TOLERANCE, ListComparison, compare_one,
                                                   distortion, exact_scores, overlap,
                                                   overlap_with_ties, rank_correlation,
                                                   recall_at, ties_with)
from explorer.compute.compression.report import csv_rows, write_csv, write_report_json
from explorer.compute.compression.pareto import (best_within, code_size, frontier, kept_of,
                                                 overlap_of, stored_size)
from explorer.compute.compression.methods import (VALID_FORMS, Method, default_methods,
                                                  parse_method, parse_methods)

__all__ = ["csv_rows", "write_csv", "write_report_json", "best_within", "code_size", "frontier",
           "kept_of", "overlap_of", "stored_size", "Codec", "DEFAULT_QUERIES", "Evaluation",
           "KIND", "Method", "MethodResult",
           "OPQ_NITER", "PQ_NITER", "RECALL_AT", "TRAIN_ROWS", "VALID_FORMS", "default_methods",
           "distortion", "evaluate", "metric_rows", "overlap", "parse_method", "parse_methods",
           "rank_correlation", "recall_at", "train_rows", "TIE_TOLERANCE", "ListComparison",
           "compare_one", "exact_scores", "overlap_with_ties", "ties_with"]
