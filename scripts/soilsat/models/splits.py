"""Sample partitions: leave-one-probe-out with random validation probes, k-fold, Kennard-Stone, bagging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from soilsat.errors import ConfigError
from soilsat.models.seeding import member_rng


@dataclass(frozen=True)
class Fold:
    """One member of a protocol: which samples train, validate and test it."""

    fold: int
    repeat: int
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def leave_one_probe_out(n_probes: int, repeats: int, validation_fraction: float, seed: int) -> list[Fold]:
    """Each probe is tested once per repeat; the others split at random into train and validation probes."""
    if n_probes < 3:
        raise ConfigError(f"leave-one-probe-out needs at least 3 probes, the dataset has {n_probes}")
    if repeats < 1:
        raise ConfigError(f"config key train.lstm.repeats must be at least 1, got {repeats}")
    n_rest = n_probes - 1
    n_val = int(round(validation_fraction * n_rest))
    if n_rest - n_val < 1:
        raise ConfigError(f"validation fraction {validation_fraction} leaves no training probe of {n_rest}")
    folds = []
    for test in range(n_probes):
        rest = np.array([p for p in range(n_probes) if p != test])
        for repeat in range(repeats):
            order = member_rng(seed, test, repeat).permutation(rest)
            folds.append(Fold(test, repeat, np.sort(order[n_val:]), np.sort(order[:n_val]), np.array([test])))
    return folds


def k_fold(n_samples: int, k: int, repeats: int, seed: int) -> list[Fold]:
    """Repeated k-fold cross-validation: within a repeat every sample is tested exactly once."""
    if n_samples < k or k < 2:
        raise ConfigError(f"{k}-fold cross-validation needs at least {max(k, 2)} samples, got {n_samples}")
    folds = []
    for repeat in range(repeats):
        order = member_rng(seed, 1_000_001, repeat).permutation(n_samples)
        parts = np.array_split(order, k)
        for i, test in enumerate(parts):
            train = np.sort(np.concatenate([p for j, p in enumerate(parts) if j != i]))
            folds.append(Fold(i, repeat, train, np.array([], dtype=int), np.sort(test)))
    return folds


def grouped_k_fold(groups: Sequence[str] | np.ndarray, k: int, repeats: int, seed: int) -> list[Fold]:
    """Repeated k-fold cross-validation of whole groups: within a repeat every sample is tested exactly once,
    with every other sample of its group; the groups are shuffled and dealt, largest first, into the fold that
    has the fewest samples so far."""
    labels, members = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    if len(labels) < k or k < 2:
        raise ConfigError(f"{k}-fold cross-validation of groups needs at least {max(k, 2)} groups, got {len(labels)}")
    sizes = np.bincount(members, minlength=len(labels))
    folds = []
    for repeat in range(repeats):
        order = member_rng(seed, 1_000_003, repeat).permutation(len(labels))
        order = order[np.argsort(-sizes[order], kind="stable")]
        fold_of = np.empty(len(labels), dtype=int)
        filled = np.zeros(k, dtype=int)
        for group in order:
            target = int(np.argmin(filled))
            fold_of[group] = target
            filled[target] += sizes[group]
        sample_fold = fold_of[members]
        for i in range(k):
            test = np.flatnonzero(sample_fold == i)
            train = np.flatnonzero(sample_fold != i)
            folds.append(Fold(i, repeat, train, np.array([], dtype=int), test))
    return folds


def kennard_stone(features: np.ndarray, n_select: int) -> np.ndarray:
    """Indices of the calibration set chosen by Kennard-Stone (max-min Euclidean distance), in selection order.

    Written here because scikit-learn has no Kennard-Stone; the algorithm is the classic one:
    start from the two most distant samples, then repeatedly add the sample farthest from the set.
    """
    x = np.asarray(features, dtype=float)
    n = len(x)
    if not 2 <= n_select <= n:
        raise ConfigError(f"Kennard-Stone cannot select {n_select} of {n} samples")
    if not np.isfinite(x).all():
        raise ConfigError("Kennard-Stone features contain missing values")
    dist = cdist(x, x)
    first, second = np.unravel_index(np.argmax(dist), dist.shape)
    chosen = [int(first), int(second)]
    nearest = np.minimum(dist[first], dist[second])
    nearest[chosen] = -1.0
    while len(chosen) < n_select:
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, dist[nxt])
        nearest[chosen] = -1.0
    return np.array(chosen)


def kennard_stone_split(features: np.ndarray, calibration_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Calibration and test indices (sorted) of a Kennard-Stone split."""
    n = len(features)
    calibration = kennard_stone(features, int(round(calibration_fraction * n)))
    test = np.setdiff1d(np.arange(n), calibration)
    return np.sort(calibration), test


def bags(indices: Sequence[int] | np.ndarray, n_bags: int, fraction: float, seed: int) -> list[np.ndarray]:
    """Subsets of `fraction` of the indices drawn without replacement, one per bag."""
    pool = np.asarray(indices)
    size = int(round(fraction * len(pool)))
    if size < 1:
        raise ConfigError(f"a bag of {fraction:.0%} of {len(pool)} samples is empty")
    return [np.sort(member_rng(seed, 1_000_002, b).choice(pool, size, replace=False)) for b in range(n_bags)]
