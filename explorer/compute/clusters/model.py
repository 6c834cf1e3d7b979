"""What a labelled map is: its clusters per level, their names and places, the rows' levels.

Plain dataclasses that travel as JSON (the artefact's meta, the CLI's `--json`), so the map
panel draws from the same objects the command prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from explorer.core.errors import InputError

VERSION = 3  # part of the cache key: bump it when a change alters the clusters or their names
TOP_TERMS = 3


@dataclass(frozen=True)
class ClusterParams:
    """How to cluster a map and name its clusters.

    `column` names the clusters: a text column by its distinguishing terms, a column of
    categories by its most common value; None means the set's text column. `min_cluster_size`
    None chooses from the set's size (`auto_min_cluster_size`). `levels` counts the levels
    wanted, the finest included (levels that would repeat another are left out).
    """

    column: str | None = None
    min_cluster_size: int | None = None
    levels: int = 3

    def __post_init__(self) -> None:
        if self.min_cluster_size is not None and int(self.min_cluster_size) < 2:
            raise InputError("the smallest cluster must have at least 2 items",
                             option="min_cluster_size")
        if not 2 <= int(self.levels) <= 5:
            raise InputError(f"levels must be 2 to 5, not {self.levels}", option="levels")

    def key(self) -> dict:
        return {**asdict(self), "version": VERSION}


@dataclass(frozen=True)
class Cluster:
    """One cluster of one level: `id` is unique within its level (0..k-1, biggest first);
    `parent` is the id of the cluster holding it one level up (None on level 0); (x, y)
    is where its label goes, a member in its densest part."""

    id: int
    label: str
    terms: tuple[str, ...]
    count: int
    x: float
    y: float
    level: int
    parent: int | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "terms": list(self.terms),
                "count": self.count, "x": self.x, "y": self.y, "level": self.level,
                "parent": self.parent}

    @classmethod
    def from_dict(cls, data: dict) -> Cluster:
        return cls(int(data["id"]), str(data["label"]), tuple(str(t) for t in data["terms"]),
                   int(data["count"]), float(data["x"]), float(data["y"]), int(data["level"]),
                   None if data.get("parent") is None else int(data["parent"]))


@dataclass(frozen=True)
class ClusterLevel:
    level: int
    clusters: tuple[Cluster, ...]
    noise_fraction: float  # share of the rows in no cluster of this level

    def to_dict(self) -> dict:
        return {"level": self.level, "noise_fraction": self.noise_fraction,
                "clusters": [c.to_dict() for c in self.clusters]}


@dataclass
class ClusterMap:
    """The clusters of one map, coarse (level 0) to fine, and each row's cluster per level.

    `assignments[row, level]` is the row's cluster id on that level, -1 when it is in none;
    a row's cluster on a finer level always lies inside its cluster on a coarser one.
    `named_by` says what the names come from: "terms:COLUMN", "category:COLUMN" or "".
    """

    levels: list[ClusterLevel]
    assignments: np.ndarray  # int32 (n, levels); may be a read-only memory map
    named_by: str
    map_key: str | None = None  # the projection these clusters are of, when it is cached
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def noise_fraction(self) -> float:
        """The share of rows in no cluster at the finest level (the most of any level)."""
        return self.levels[-1].noise_fraction if self.levels else 1.0

    def rows(self, level: int, cluster: int) -> np.ndarray:
        """The rows of one cluster (what clicking its label selects), ascending."""
        return np.flatnonzero(np.asarray(self.assignments[:, level]) == cluster)

    def column(self, level: int) -> np.ndarray:
        """Every row's cluster id on `level` (-1: none), for colouring by cluster."""
        return np.asarray(self.assignments[:, level])

    def level_columns(self) -> dict[str, np.ndarray]:
        """`level_0`, `level_1`, ... -> int32 cluster ids per row (-1: none): what an export
        of the map's coordinates adds, and what `labels --out` writes beside `row`."""
        return {f"level_{lv.level}": np.asarray(self.assignments[:, lv.level], dtype=np.int32)
                for lv in self.levels}

    def to_dict(self) -> dict:
        return {"levels": [lv.to_dict() for lv in self.levels],
                "noise_fraction": self.noise_fraction, "named_by": self.named_by}

    @classmethod
    def from_meta(cls, meta: dict, assignments: np.ndarray) -> ClusterMap:
        """Rebuilt from what `to_dict` stored beside the assignments (KeyError/ValueError
        when it is not that)."""
        levels = [ClusterLevel(int(lv["level"]),
                               tuple(Cluster.from_dict(c) for c in lv["clusters"]),
                               float(lv["noise_fraction"])) for lv in meta["levels"]]
        if assignments.ndim != 2 or assignments.shape[1] != len(levels):
            raise ValueError("the stored levels do not match the stored assignments")
        return cls(levels, assignments, str(meta["named_by"]))


__all__ = ["TOP_TERMS", "VERSION", "Cluster", "ClusterLevel", "ClusterMap", "ClusterParams"]
