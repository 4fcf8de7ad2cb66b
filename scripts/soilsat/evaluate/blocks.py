"""Spatial blocks and the folds of blocked cross-validation: whole regions, networks or blocks held out together.

A random protocol scores a model on data that are near (in space, and so in their errors) to what it was
trained on; holding out whole blocks shows how it does where it has seen nothing nearby (Roberts et al.
2017, Ecography 40:913). Blocks are squares of `block_m` metres on a local equirectangular plane per
region, which is close enough for blocks of a few kilometres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soilsat.errors import ConfigError
from soilsat.settings import Settings

EARTH_M_PER_DEGREE = 111_320.0
BLOCK_KINDS = ("block", "region", "network")


@dataclass(frozen=True)
class BlockSettings(Settings):
    """What blocked cross-validation holds out and in how many folds (config validate.blocked_cv)."""

    by: str
    block_m: float
    folds: int


def square_blocks(region: np.ndarray, lat: np.ndarray, lon: np.ndarray, block_m: float) -> np.ndarray:
    """The label of the `block_m` square each point falls in, per region (local plane at the region's mean lat)."""
    region = np.asarray(region).astype(str)
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    labels = np.empty(len(region), dtype=object)
    for name in np.unique(region):
        inside = region == name
        cos = np.cos(np.radians(lat[inside].mean()))
        col = np.floor(lon[inside] * EARTH_M_PER_DEGREE * cos / block_m).astype(int)
        row = np.floor(lat[inside] * EARTH_M_PER_DEGREE / block_m).astype(int)
        labels[inside] = [f"{name}/{r}/{c}" for r, c in zip(row, col)]
    return labels.astype(str)


def block_labels(
    settings: BlockSettings, region: np.ndarray, lat: np.ndarray, lon: np.ndarray, network: np.ndarray | None
) -> np.ndarray:
    """The block of every point under the configured kind (network needs the points' networks)."""
    if settings.by == "block":
        return square_blocks(region, lat, lon, settings.block_m)
    if settings.by == "region":
        return np.asarray(region).astype(str)
    if settings.by == "network":
        if network is None:
            raise ConfigError("config key validate.blocked_cv.by: network, but these points have no network")
        return np.asarray(network).astype(str)
    raise ConfigError(f"config key validate.blocked_cv.by: unknown kind {settings.by!r}; choose one of {BLOCK_KINDS}")


def blocked_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The fold of every point: whole blocks dealt at random into min(folds, blocks) folds of similar size."""
    labels = np.asarray(labels).astype(str)
    blocks = np.unique(labels)
    if len(blocks) < 2:
        raise ConfigError(f"blocked cross-validation needs at least two blocks, these points fall in {len(blocks)}")
    k = min(folds, len(blocks))
    order = np.random.default_rng(seed).permutation(blocks)
    sizes = {b: int((labels == b).sum()) for b in order}
    load = np.zeros(k)
    fold_of = {}
    for block in sorted(order, key=lambda b: -sizes[b]):  # largest first onto the lightest fold
        fold = int(np.argmin(load))
        fold_of[block] = fold
        load[fold] += sizes[block]
    return np.array([fold_of[label] for label in labels])


def random_folds(n: int, folds: int, seed: int) -> np.ndarray:
    """The fold of every point under random k-fold cross-validation."""
    if n < folds:
        raise ConfigError(f"{folds}-fold cross-validation needs at least {folds} points, got {n}")
    fold = np.arange(n) % folds
    return np.random.default_rng(seed).permutation(fold)
