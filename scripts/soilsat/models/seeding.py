"""Seeds of protocol members: each depends only on the run's seed and the member's keys, never on its neighbours."""

from __future__ import annotations

import numpy as np


def member_rng(seed: int, fold: int, repeat: int) -> np.random.Generator:
    """A generator that depends only on (seed, fold, repeat), not on how many members run together."""
    return np.random.default_rng([seed, fold, repeat])


def member_seed(seed: int, *keys: int) -> int:
    """A torch or forest seed that depends only on the seed and the member's keys."""
    return int(np.random.default_rng([seed, *keys]).integers(2**31 - 1))
