"""PaCMAP for Embedding Explorer: the declaration only, so discovering it imports nothing heavy.

The method itself (explorer_pacmap.method, which imports pacmap and numba) is imported the
first time a map is made with it.
"""

from explorer.plugins.api import Contribution

CONTRIBUTIONS = [
    Contribution(
        "projection", "pacmap", "explorer_pacmap.method:fit", label="PaCMAP", version=1,
        description="Pairwise Controlled Manifold Approximation (Wang et al., JMLR 2021): "
                    "neighbour, mid-near and further pairs keep local and global structure"),
]
