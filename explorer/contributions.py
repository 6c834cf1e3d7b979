"""The app's own loaders, projections, encoders, codecs and panels, declared like any plugin's.

Registered through pyproject's `embedding_explorer.contributions` entry point (see
explorer.plugins). Only metadata lives here: the implementations are imported on first use.
"""

from __future__ import annotations

from explorer.plugins import Contribution

_ARRAYS = "explorer.core.loaders.arrays"
_TABLES = "explorer.core.loaders.tables"
_HDF5 = "explorer.core.loaders.hdf5"
_WORDS = "explorer.core.loaders.word_vectors"


def _loader(name: str, extensions: tuple[str, ...], module: str, sniff: str, load: str,
            description: str, **more) -> Contribution:
    return Contribution("loader", name, f"{module}:{load}", sniff=f"{module}:{sniff}",
                        extensions=extensions, description=description, **more)


LOADERS = [
    # by_content: files with these magic numbers are recognised whatever their name.
    # ram_per_file_byte: measured peak memory while loading, per byte of file (CSV 2.4,
    # word2vec text 2.7, JSONL 4.3, Parquet 6: its compressed pages decode to more).
    _loader("npy", (".npy",), _ARRAYS, "sniff_npy", "load_npy", "NumPy array (memory-mapped)",
            memory_mapped=True, by_content=True),
    _loader("npz", (".npz",), _ARRAYS, "sniff_npz", "load_npz", "NumPy archive",
            ram_per_file_byte=2.0, by_content=True),
    _loader("parquet", (".parquet", ".pq"), _TABLES, "sniff_parquet", "load_parquet",
            "Parquet table with a vector column", ram_per_file_byte=6.0, by_content=True),
    _loader("arrow", (".arrow", ".feather", ".ipc"), _TABLES, "sniff_arrow", "load_arrow",
            "Arrow IPC / Feather table", ram_per_file_byte=1.5, by_content=True),
    _loader("hdf5", (".h5", ".hdf5", ".hdf"), _HDF5, "sniff_hdf5", "load_hdf5",
            "HDF5 (ann-benchmarks layout understood)", ram_per_file_byte=1.2, by_content=True),
    _loader("fvecs", (".fvecs", ".bvecs", ".ivecs"), _ARRAYS, "sniff_vecs", "load_vecs",
            "TEXMEX .fvecs / .bvecs / .ivecs", memory_mapped=True),
    _loader("csv", (".csv", ".tsv", ".tab"), _TABLES, "sniff_text_table", "load_csv",
            "CSV / TSV (also the Projector vectors.tsv)", ram_per_file_byte=2.4),
    _loader("jsonl", (".jsonl", ".ndjson", ".json"), _TABLES, "sniff_jsonl", "load_jsonl",
            "JSON Lines with an embedding field", ram_per_file_byte=4.3),
    _loader("word2vec-text", (".txt", ".vec"), _WORDS, "sniff_word_text", "load_word_text",
            "word2vec / GloVe / fastText text", ram_per_file_byte=2.7),
    _loader("word2vec-bin", (".bin",), _WORDS, "sniff_word2vec_bin", "load_word2vec_bin",
            "word2vec binary", ram_per_file_byte=1.3),
]

_PROJECTION = "explorer.compute.projection"
PROJECTIONS = [
    Contribution("projection", "pca", f"{_PROJECTION}.pca:fit", label="PCA", version=2,
                 description="principal components, exact, fitted on a sample of rows"),
    Contribution("projection", "umap", f"{_PROJECTION}.umap:fit", label="UMAP", version=8,
                 description="umap-learn's algorithm on a faiss or pivot-joined kNN graph; "
                             "above 200,000 rows a sample is fitted, spread over every "
                             "row's graph and every row optimised (or only placed, faster)"),
    Contribution("projection", "tsne", f"{_PROJECTION}.tsne:fit", label="t-SNE", version=1,
                 description="openTSNE on a faiss kNN graph"),
    Contribution("projection", "identity", f"{_PROJECTION}.identity:fit", label="Identity",
                 description="the first 2 or 3 columns, for sets that are already 2-D / 3-D"),
]

ENCODERS = [
    Contribution("encoder", "minilm", "explorer.compute.encoding.catalogue:MINILM",
                 label="all-MiniLM-L6-v2",
                 description="English sentences, 384 dimensions (int8 ONNX, from PyPI packages)"),
]

_CODEC = "explorer.compute.compression.codecs:Codec"
_CODECS = {"flat": "float32 after an optional transform (truncT, pcaT, rpT)",
           "fp16": "float16", "sq8": "8-bit scalar quantisation",
           "sq6": "6-bit scalar quantisation", "sq4": "4-bit scalar quantisation",
           "pq": "product quantisation (pqM)", "opq": "OPQ rotation + product quantisation (opqM)",
           "binary": "sign codes, Hamming distance (binary, binary-rerankR)"}
COMPRESSION = [Contribution("compression", name, _CODEC, description=text)
               for name, text in _CODECS.items()]

_PANELS = "explorer.ui.panels"
# The window's panel order: docks of one area are tabbed in it, and sessions apply in it
# (concepts before the map, whose saved concept plane asks the concepts panel for it).
# Plugins' panels follow the built-ins (explorer.ui.panels.catalogue).
_PANEL_ROWS = (  # name, class under explorer.ui.panels, label, description
    ("library", "library:LibraryView", "Library", "the sets kept in the library"),
    ("item", "item:ItemView", "Item", "everything known about the item looked at"),
    ("neighbours", "neighbours.panel:NeighboursView", "Neighbours",
     "nearest neighbours, comparison, hubness"),
    ("concepts", "concepts.panel:ConceptsView", "Concepts", "concept directions and axes"),
    ("charts", "charts.panel:ChartsView", "Charts",
     "a chart per metadata column; clicks and brushes filter the map, the table and each other"),
    ("map", "map.panel:MapView", "Map", "the set's 2-D / 3-D map, the window's centre"),
    ("table", "table:TableView", "Table", "the metadata table, filtered by the selection"),
    ("compression", "compression.panel:CompressionView", "Compression",
     "memory budget against search quality"),
    ("compare-sets", "compare.panel:CompareView", "Compare sets",
     "this set against another set of the same items: neighbourhoods kept, both maps linked"),
)
PANELS = [Contribution("panel", name, f"{_PANELS}.{target}", label=label, description=text)
          for name, target, label, text in _PANEL_ROWS]

CONTRIBUTIONS = [*LOADERS, *PROJECTIONS, *ENCODERS, *COMPRESSION, *PANELS]
