"""The Python API, for notebooks and scripts: `explorer.load`, `explorer.show`, `Set`.

    import explorer
    s = explorer.load(vectors, metadata=df)        # stored in the library (or found there)
    s.neighbours(row=7, k=5).to_arrow()            # as `embedding-explorer neighbours --json`
    xy = s.project("umap")                         # the map the app and `project` keep
    s.compare(other, k=10).mean_overlap            # as `embedding-explorer compare`
    explorer.show(s)                               # the desktop app, in its own process

Everything here runs the CLI's computations on the CLI's library (EXPLORER_HOME), so a
script, the CLI and the app see the same sets and the same numbers. Qt is imported only by
the app `show` starts, never in the calling process. The modules: `loading` (load: storing
arrays and tables, opening files and sets), `sets` (Set, NeighbourList), `comparison`
(SetComparison), `desktop` (show).
"""

from explorer.api.desktop import show
from explorer.api.loading import load
from explorer.api.sets import NeighbourList, Set

__all__ = ["NeighbourList", "Set", "load", "show"]
