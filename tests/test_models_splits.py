"""Sample partitions: leave-one-probe-out, k-fold, Kennard-Stone and bags."""

import numpy as np

from soilsat.models.splits import bags, k_fold, kennard_stone, kennard_stone_split, leave_one_probe_out


def test_kennard_stone_picks_extremes_and_never_overlaps():
    x = np.array([[0.0], [10.0], [5.0], [4.9], [1.0], [9.0]])
    chosen = kennard_stone(x, 3)
    assert list(chosen[:2]) in ([0, 1], [1, 0]) and chosen[2] in (2, 3)
    rng = np.random.default_rng(0)
    calibration, test = kennard_stone_split(rng.normal(size=(50, 4)), 0.8)
    assert len(calibration) == 40 and len(test) == 10
    assert not set(calibration) & set(test) and len(set(calibration) | set(test)) == 50


def test_k_fold_and_bags():
    folds = k_fold(23, 5, 2, seed=0)
    for repeat in (0, 1):
        tests = np.concatenate([f.test for f in folds if f.repeat == repeat])
        assert sorted(tests) == list(range(23))
    assert all(not set(f.train) & set(f.test) for f in folds)
    for bag in bags(range(10), 5, 0.8, seed=0):
        assert len(bag) == 8 == len(set(bag))


def test_leave_one_probe_out_never_shares_a_probe():
    folds = leave_one_probe_out(7, 3, 0.2, seed=1)
    assert len(folds) == 21
    for fold in folds:
        parts = [set(fold.train), set(fold.validation), set(fold.test)]
        assert sum(map(len, parts)) == 7 and len(set.union(*parts)) == 7
        assert fold.test[0] not in fold.train and len(fold.validation) == 1
    for repeat in range(3):
        assert sorted(f.test[0] for f in folds if f.repeat == repeat) == list(range(7))
    assert len({tuple(f.validation) for f in folds if f.fold == 0}) > 1  # validation probes drawn per repeat
