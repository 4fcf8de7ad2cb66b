"""Lattices of grid pixels (soilsat.sar.lattice): a window interpolates exactly as the whole grid axis does."""

from __future__ import annotations

import numpy as np

from soilsat.grid import StudyGrid
from soilsat.sar.lattice import axis_lattice, node_centres


def test_a_window_of_an_axis_interpolates_as_the_whole_axis():
    nodes, k, w = axis_lattice(250, 0, 250, 16)
    assert nodes[0] == 0 and nodes[-1] == 249 and np.all(np.diff(nodes) <= 16)
    pixels = np.arange(250)
    np.testing.assert_allclose(nodes[k] + w * (nodes[k + 1] - nodes[k]), pixels)
    for start, stop in ((37, 121), (0, 1), (240, 250), (16, 32)):
        sub_nodes, sub_k, sub_w = axis_lattice(250, start, stop, 16)
        np.testing.assert_array_equal(sub_nodes[sub_k], nodes[k][start:stop])
        np.testing.assert_array_equal(sub_nodes[sub_k + 1], nodes[k + 1][start:stop])
        np.testing.assert_array_equal(sub_w, w[start:stop])


def test_an_axis_of_one_pixel():
    nodes, k, w = axis_lattice(1, 0, 1, 16)
    assert list(nodes) == [0, 0] and list(k) == [0] and list(w) == [0.0]


def test_node_centres_are_the_grids_pixel_centres():
    grid = StudyGrid("g", 32632, 500000.0, 5600000.0, 40, 30, 10.0)
    xx, yy = node_centres(grid, np.array([0, 29]), np.array([0, 16, 39]))
    np.testing.assert_array_equal(xx[0], grid.x_coords()[[0, 16, 39]])
    np.testing.assert_array_equal(yy[:, 0], grid.y_coords()[[0, 29]])
