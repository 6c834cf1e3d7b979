"""Synthetic maps shaped like a real UMAP, with texts, for the labels' tests and benchmark.

A real map is islands of clusters of very different sizes and densities (a few big, many
small, some stretched), with a thin scatter between them; its texts share words across a
cluster and, less, across an island. Real texts are not needed for timing or for comparing
two clusterings of the same map, and a generated set is the same at any size, so the 1M
benchmark and a 60k test read the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["ar", "en", "is", "on", "ul"]


@dataclass(frozen=True)
class UmapLike:
    coords: np.ndarray  # float32 (n, 2)
    topic: np.ndarray   # int64 (n,): the cluster a point was drawn from, -1 for the scatter
    island: np.ndarray  # int64 (n,): its island, -1 for the scatter


def vocabulary(size: int = 20_000, seed: int = 0) -> np.ndarray:
    """Distinct made-up words of two to four syllables (e.g. "tarolin"), str."""
    rng = np.random.default_rng(seed)
    words: set[str] = set()
    while len(words) < size:
        parts = rng.choice(SYLLABLES, size=(size, 4))
        lengths = rng.integers(2, 5, size)
        words.update("".join(p[:k]) for p, k in zip(parts, lengths))
    return np.array(sorted(words)[:size])


def umap_like(n: int, clusters: int = 300, islands: int = 12, scatter: float = 0.04,
              seed: int = 0) -> UmapLike:
    """`n` points in `clusters` Gaussian clusters (log-normal sizes, densities and aspect
    ratios, random angles) grouped in `islands`, plus a `scatter` share spread evenly."""
    rng = np.random.default_rng(seed)
    island_xy = rng.uniform(-25, 25, size=(islands, 2))
    island_of = rng.integers(0, islands, clusters)
    centre = island_xy[island_of] + rng.normal(0, 3.0, size=(clusters, 2))
    share = rng.lognormal(0, 1.2, clusters)
    share /= share.sum()
    background = round(scatter * n)
    topic = rng.choice(clusters, size=n - background, p=share)
    # spread grows with a cluster's size; density varies on top of that (x0.6 to x1.5 typical)
    spread = 0.3 * (share / share.mean()) ** 0.4 * rng.lognormal(0, 0.4, clusters)
    ratio = rng.lognormal(0, 0.4, clusters)
    angle = rng.uniform(0, np.pi, clusters)
    local = rng.normal(size=(topic.size, 2)) * np.stack([ratio, 1 / ratio], 1)[topic]
    cos, sin = np.cos(angle)[topic], np.sin(angle)[topic]
    turned = np.stack([cos * local[:, 0] - sin * local[:, 1],
                       sin * local[:, 0] + cos * local[:, 1]], 1)
    pts = centre[topic] + turned * spread[topic, None]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    noise = rng.uniform(lo, hi, size=(background, 2))
    order = rng.permutation(n)  # the rows of a real set are in no map order
    coords = np.vstack([pts, noise]).astype(np.float32)[order]
    topic = np.concatenate([topic, np.full(background, -1)])[order]
    island = np.where(topic >= 0, island_of[np.maximum(topic, 0)], -1)
    return UmapLike(coords, topic.astype(np.int64), island.astype(np.int64))


def texts_of(shape: UmapLike, words: np.ndarray, seed: int = 0, length: tuple = (6, 18),
             topical: float = 0.5, ranked: bool = False) -> list[str]:
    """A text per point: words drawn from the whole vocabulary by a Zipf law, and, with
    probability `topical` each, one of its cluster's eight words or (a third as often) of
    its island's four. `ranked`: `words` are a real word list, commonest first, which the
    Zipf law follows (made-up words are shuffled). Vectorised: 1M texts in about 20 s."""
    rng = np.random.default_rng(seed)
    n, vocab = shape.topic.size, words.size
    topics = int(shape.topic.max()) + 1
    islands = int(shape.island.max()) + 1
    topic_words = rng.integers(0, vocab, size=(max(topics, 1), 8))
    island_words = rng.integers(0, vocab, size=(max(islands, 1), 4))
    width = length[1]
    rank = np.minimum(rng.zipf(1.3, size=(n, width)) - 1, vocab - 1)
    pick = rank if ranked else rng.permutation(vocab)[rank]
    draw = rng.random((n, width))
    t = np.maximum(shape.topic, 0)[:, None]
    i = np.maximum(shape.island, 0)[:, None]
    own = topic_words[t, rng.integers(0, 8, (n, width))]
    near = island_words[i, rng.integers(0, 4, (n, width))]
    inside = (shape.topic >= 0)[:, None]
    pick = np.where(inside & (draw < topical), own, pick)
    pick = np.where(inside & (draw >= topical) & (draw < topical * 4 / 3), near, pick)
    sizes = rng.integers(length[0], length[1] + 1, n).tolist()
    vocab_list = words.tolist()
    out: list[str] = []
    for start in range(0, n, 100_000):  # in chunks: 1M rows of Python ints at once take GBs
        for row, k in zip(pick[start:start + 100_000].tolist(), sizes[start:start + 100_000]):
            out.append(" ".join([vocab_list[w] for w in row[:k]]))
    return out
