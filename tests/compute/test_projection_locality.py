"""Rows renumbered along a Z-order curve of a layout (projection.locality)."""

import numpy as np
import scipy.sparse

from explorer.compute.projection.locality import renumbered, restored, z_order


def test_z_order_is_a_permutation_that_keeps_map_neighbours_close_in_memory():
    rng = np.random.default_rng(0)
    coords = rng.uniform(0, 100, size=(20_000, 2)).astype(np.float32)
    order = z_order(coords)
    assert np.array_equal(np.sort(order), np.arange(len(coords)))
    # each row's nearest neighbour on the map: how far apart the two are in memory
    from scipy.spatial import cKDTree
    _, near = cKDTree(coords).query(coords, k=2)
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    gap_curve = np.median(np.abs(position[near[:, 0]] - position[near[:, 1]]))
    gap_file = np.median(np.abs(near[:, 0] - near[:, 1]))
    assert gap_curve < gap_file / 50


def test_z_order_of_a_quadrant_grid_visits_each_quadrant_whole():
    xs, ys = np.meshgrid(np.arange(4.0), np.arange(4.0))
    coords = np.column_stack([xs.ravel(), ys.ravel()])
    order = z_order(coords)
    quadrant = (coords[order, 0] >= 2).astype(int) + 2 * (coords[order, 1] >= 2)
    assert [set(quadrant[i:i + 4]) for i in range(0, 16, 4)] == [{0}, {1}, {2}, {3}]


def test_z_order_takes_3d_flat_and_non_finite_layouts():
    coords = np.array([[0.0, 1.0, 5.0], [np.nan, 1.0, 2.0], [np.inf, 1.0, -1.0],
                       [3.0, 1.0, 0.0]])
    assert sorted(z_order(coords)) == [0, 1, 2, 3]
    assert sorted(z_order(np.zeros((5, 2)))) == [0, 1, 2, 3, 4]
    assert z_order(np.zeros((0, 2))).size == 0


def test_renumbered_graph_has_the_same_edges_sorted_by_new_head():
    rng = np.random.default_rng(1)
    graph = scipy.sparse.random(300, 300, density=0.05, format="coo", random_state=2,
                                dtype=np.float32)
    order = rng.permutation(300)
    new = renumbered(graph, order)
    assert np.all(np.diff(new.row) >= 0)
    back = {(int(order[h]), int(order[t]), float(w))
            for h, t, w in zip(new.row, new.col, new.data)}
    assert back == {(int(h), int(t), float(w))
                    for h, t, w in zip(graph.row, graph.col, graph.data)}


def test_restored_undoes_the_renumbering():
    coords = np.random.default_rng(3).normal(size=(50, 2)).astype(np.float32)
    order = z_order(coords)
    np.testing.assert_array_equal(restored(coords[order], order), coords)
