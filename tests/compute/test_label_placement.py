"""Label placement (explorer.compute.clusters.placement): which clusters are named at a zoom,
and boxes that never overlap."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from explorer.compute import clusters as cl
from explorer.compute.clusters import placement


def two_level_map(seed: int = 0) -> tuple[cl.ClusterMap, np.ndarray]:
    """4 coarse clusters at the corners of a 100-wide square, each of 4 fine ones 20 apart
    (spread 2): level 0 has 4 clusters, level 1 has 16; 50 rows in none, far out."""
    rng = np.random.default_rng(seed)
    coarse_at = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], dtype=np.float64)
    fine_at = np.array([[-10, -10], [10, -10], [-10, 10], [10, 10]], dtype=np.float64)
    per = 100
    xy, lv0, lv1 = [], [], []
    levels0, levels1 = [], []
    for c, centre in enumerate(coarse_at):
        for f, off in enumerate(fine_at):
            fid = 4 * c + f
            xy.append(centre + off + rng.normal(0, 2, size=(per, 2)))
            lv0 += [c] * per
            lv1 += [fid] * per
            levels1.append(cl.Cluster(fid, f"fine {fid}", (f"fine{fid}",), per,
                                      *(centre + off), level=1, parent=c))
        levels0.append(cl.Cluster(c, f"coarse {c}", (f"coarse{c}",), 4 * per, *centre,
                                  level=0))
    xy.append(rng.uniform(300, 400, size=(50, 2)))
    lv0 += [-1] * 50
    lv1 += [-1] * 50
    coords = np.vstack(xy).astype(np.float32)
    assignments = np.stack([lv0, lv1], axis=1).astype(np.int32)
    noise = 50 / len(coords)
    result = cl.ClusterMap([cl.ClusterLevel(0, tuple(levels0), noise),
                            cl.ClusterLevel(1, tuple(levels1), noise)], assignments, "terms:t")
    return result, coords


def sizes(cands: cl.Candidates, width: float = 80.0, height: float = 16.0):
    return np.full(len(cands), width), np.full(len(cands), height)


def shown(cands: cl.Candidates, placed: cl.Placement) -> set[tuple[int, int]]:
    return {(int(cands.level[i]), int(cands.ident[i])) for i in placed.index}


def overlapping(rects: np.ndarray) -> list[tuple[int, int]]:
    """Pairs of boxes that overlap or come closer than GAP_PX: every pair, by hand."""
    g = placement.GAP_PX
    out = []
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            a, b = rects[i], rects[j]
            if a[0] - g < b[2] and b[0] < a[2] + g and a[1] - g < b[3] and b[1] < a[3] + g:
                out.append((i, j))
    return out


def test_candidates_are_every_cluster_coarse_first_then_bigger():
    result, coords = two_level_map()
    cands = cl.label_candidates(result, coords)
    assert len(cands) == 20 and cands.finest == 1
    assert list(cands.level) == [0] * 4 + [1] * 16
    assert cands.find(1, 7) >= 4 and cands.find(2, 0) == -1
    i = cands.find(1, 7)
    assert (cands.x[i], cands.y[i]) == (result.levels[1].clusters[7].x,
                                        result.levels[1].clusters[7].y)


def test_cluster_radii_are_the_rms_distance_to_the_mean():
    result, coords = two_level_map()
    column = result.column(1)
    radii = placement.cluster_radii(coords, column, 16)
    for k in (0, 9, 15):
        xy = coords[column == k].astype(np.float64)
        expected = np.sqrt(((xy - xy.mean(axis=0)) ** 2).sum(axis=1).mean())
        assert radii[k] == pytest.approx(expected, rel=1e-6)


def test_whole_map_names_the_coarse_level_and_zooming_in_the_fine_one():
    result, coords = two_level_map()
    cands = cl.label_candidates(result, coords)
    widths, heights = sizes(cands)
    whole = cl.place_labels(cands, widths, heights, (-30, -30, 130, 130), (800, 800))
    assert shown(cands, whole) == {(0, c) for c in range(4)}
    # 4x on the first coarse cluster: its four fine clusters are big enough to be named
    zoomed = cl.place_labels(cands, widths, heights, (-20, -20, 20, 20), (800, 800))
    assert {(1, f) for f in range(4)} <= shown(cands, zoomed)
    assert not any(lv == 1 and f >= 4 for lv, f in shown(cands, zoomed))  # out of view
    # deep inside one fine cluster: the coarse cluster is bigger than the view and gives way
    deep = cl.place_labels(cands, widths, heights, (-15, -15, -5, -5), (800, 800))
    assert shown(cands, deep) == {(1, 0)}


def test_boxes_never_overlap_and_stay_in_view():
    rng = np.random.default_rng(3)
    k = 600
    cands = cl.Candidates(rng.uniform(0, 100, k), rng.uniform(0, 100, k), rng.uniform(5, 20, k),
                          np.sort(rng.integers(0, 3, k)), np.arange(k), rng.integers(10, 999, k),
                          np.full(k, -1), 2)
    widths, heights = rng.uniform(20, 220, k), rng.uniform(10, 24, k)
    for view in [(0, 0, 100, 100), (20, 30, 45, 55), (-50, -50, 150, 150)]:
        placed = cl.place_labels(cands, widths, heights, view, (1400, 900))
        r = placed.rects
        assert len(placed.index) > 10
        assert overlapping(r) == []
        assert (r[:, 0] >= 0).all() and (r[:, 2] <= 1400).all()
        assert (r[:, 1] >= 0).all() and (r[:, 3] <= 900).all()
        np.testing.assert_allclose(r[:, 2] - r[:, 0], widths[placed.index])
        assert (np.diff(placed.index) > 0).all()  # in priority order (the candidates')
        x0, _y0, x1, _y1 = view
        px = (cands.x[placed.index] - x0) * 1400 / (x1 - x0)
        assert ((px >= 0) & (px <= 1400)).all()  # anchors in view
        assert len(placed.index) <= placement.MAX_LABELS_PER_MPX * 1400 * 900 / 1e6


def test_greedy_matches_a_pairwise_reference():
    rng = np.random.default_rng(5)
    n = 300
    px, py = rng.uniform(0, 1000, n), rng.uniform(0, 700, n)
    widths, heights = rng.uniform(30, 150, n), np.full(n, 14.0)
    placed = placement.greedy(np.arange(n), px, py, widths, heights, np.full(n, -1),
                              (1000, 700), limit=n)
    g = placement.GAP_PX
    ref_index, ref_rects = [], []
    for i in range(n):
        w, h = widths[i], heights[i]
        for dx, dy in placement.SHIFTS:
            left = min(max(px[i] - w / 2 + dx * (w + g), 0.0), 1000 - w)
            top = min(max(py[i] - h / 2 + dy * (h + g), 0.0), 700 - h)
            box = (left, top, left + w, top + h)
            if all(not (box[0] - g < b[2] and b[0] < box[2] + g and box[1] - g < b[3]
                        and b[1] < box[3] + g) for b in ref_rects):
                ref_index.append(i)
                ref_rects.append(box)
                break
    assert placed.index.tolist() == ref_index
    np.testing.assert_allclose(placed.rects, np.array(ref_rects))


def test_the_bigger_cluster_wins_a_collision_and_an_echo_of_its_parent_is_left_out():
    # two clusters on one spot: the bigger is placed on its anchor, the other shifts
    cands = cl.Candidates(np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.0, 0.0]),
                          np.array([5.0, 5.0, 5.0]), np.array([0, 0, 1]),
                          np.array([0, 1, 0]), np.array([900, 100, 800]),
                          np.array([-1, -1, 0]), 1)
    widths, heights = np.array([100.0, 100.0, 100.0]), np.array([20.0, 20.0, 20.0])
    placed = cl.place_labels(cands, widths, heights, (-10, -10, 10, 10), (400, 400))
    assert placed.index.tolist() == [0, 1]  # the third repeats the first's words
    np.testing.assert_allclose(placed.rects[0], [150, 190, 250, 210])
    assert placed.rects[1][1] == pytest.approx(190 - 20 - placement.GAP_PX)  # just above
    assert placed.at(200, 200) == 0 and placed.at(200, 175) == 1 and placed.at(5, 5) == -1


def test_a_child_naming_its_parent_again_is_an_echo():
    result, coords = two_level_map()
    coarse = list(result.levels[0].clusters)
    fine = list(result.levels[1].clusters)
    coarse[1] = replace(coarse[1], label="b, a", terms=("b", "a"))
    fine[5] = replace(fine[5], label="a, b", terms=("a", "b"))  # fine 5 is in coarse 1
    fine[6] = replace(fine[6], label="a, c", terms=("a", "c"))
    result = cl.ClusterMap([replace(result.levels[0], clusters=tuple(coarse)),
                            replace(result.levels[1], clusters=tuple(fine))],
                           result.assignments, result.named_by)
    cands = cl.label_candidates(result, coords)
    assert cands.echo[cands.find(1, 5)] == cands.find(0, 1)
    assert cands.echo[cands.find(1, 6)] == -1 and cands.echo[cands.find(0, 1)] == -1


def test_nothing_to_place():
    result, coords = two_level_map()
    cands = cl.label_candidates(result, coords)
    widths, heights = sizes(cands)
    assert len(cl.place_labels(cands, widths, heights, (500, 500, 600, 600), (800, 800)).index) == 0
    assert len(cl.place_labels(cands, widths, heights, (0, 0, 0, 0), (800, 800)).index) == 0
    empty = cl.ClusterMap([], np.zeros((10, 0), np.int32), "")
    assert len(cl.label_candidates(empty, np.zeros((10, 2)))) == 0
