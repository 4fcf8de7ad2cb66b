"""Spatial blocks and the folds of blocked cross-validation."""

from __future__ import annotations

import numpy as np
import pytest

from soilsat.errors import ConfigError
from soilsat.evaluate.blocks import BlockSettings, block_labels, blocked_folds, random_folds, square_blocks


def test_square_blocks_group_points_within_a_block_side():
    lat = np.array([55.90, 55.901, 55.95, 55.90])
    lon = np.array([8.90, 8.901, 8.90, 8.99])
    labels = square_blocks(np.array(["a", "a", "a", "b"]), lat, lon, 2000.0)
    assert labels[0] == labels[1]  # about 130 m apart
    assert labels[0] != labels[2]  # about 5.6 km north
    assert labels[3].startswith("b/")  # blocks never straddle regions


def test_every_kind_of_block():
    region, lat, lon = np.array(["a", "b"]), np.array([1.0, 2.0]), np.array([3.0, 4.0])
    assert list(block_labels(BlockSettings("region", 1000, 5), region, lat, lon, None)) == ["a", "b"]
    assert list(block_labels(BlockSettings("network", 1000, 5), region, lat, lon, np.array(["N1", "N2"]))) == [
        "N1",
        "N2",
    ]
    with pytest.raises(ConfigError, match="validate.blocked_cv.by"):
        block_labels(BlockSettings("network", 1000, 5), region, lat, lon, None)


def test_blocked_folds_keep_blocks_whole_and_balance_their_sizes():
    labels = np.repeat([f"b{i}" for i in range(12)], np.arange(1, 13))
    folds = blocked_folds(labels, 4, seed=3)
    for label in np.unique(labels):
        assert len(set(folds[labels == label])) == 1
    sizes = np.bincount(folds)
    assert len(sizes) == 4 and sizes.max() - sizes.min() <= 12
    assert np.array_equal(blocked_folds(labels, 4, seed=3), folds)
    assert len(np.unique(blocked_folds(labels[:6], 10, seed=0))) == 3  # leave one block out: 3 blocks, 3 folds
    with pytest.raises(ConfigError, match="at least two blocks"):
        blocked_folds(np.array(["x", "x"]), 5, 0)


def test_random_folds_deal_points_evenly():
    folds = random_folds(103, 10, seed=1)
    assert np.bincount(folds).min() >= 10 and np.bincount(folds).max() <= 11
