"""Vector statistics for Embedding Explorer: the declaration only, so discovering it imports
neither Qt nor the numerics.

The panel (explorer_vector_stats.panel) is imported when the window builds its panels.
"""

from explorer.plugins.api import Contribution

CONTRIBUTIONS = [
    Contribution(
        "panel", "norms", "explorer_vector_stats.panel:NormsPanel", label="Norms",
        description="the distribution of the vectors' lengths and a TwoNN estimate of the "
                    "set's intrinsic dimension; colours the map by length"),
]
