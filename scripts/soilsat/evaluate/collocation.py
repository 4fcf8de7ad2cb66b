"""Triple collocation of three soil-moisture estimates at one place (pytesmo; Gruber et al. 2016, 2020).

Given three estimates with mutually independent errors, the covariances give each one's error standard
deviation (scaled to the first, the in-situ reference) and its signal-to-noise ratio in dB, here with
pytesmo's percentile bootstrap intervals. A model trained on the probes is independent of a probe only
when that probe was held out of its training, as under leave-one-probe-out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pytesmo.metrics.confidence_intervals import tcol_metrics_with_bootstrapped_ci

from soilsat.evaluate.agreement import seeded

COLUMNS = ("n", "err_std", "err_std_lower", "err_std_upper", "snr_db", "snr_db_lower", "snr_db_upper", "beta")


def triplets(series: Sequence[np.ndarray]) -> np.ndarray:
    """The rows (n, 3) where all three estimates are finite."""
    stacked = np.column_stack([np.asarray(s, dtype=np.float64) for s in series])
    return stacked[np.isfinite(stacked).all(axis=1)]


def triple_collocation(
    series: Sequence[np.ndarray], confidence: float, samples: int, seed: int
) -> list[dict[str, float]]:
    """Per estimate (in the order given, the first the reference): error sd, SNR (dB), their intervals, beta."""
    rows = triplets(series)
    n = len(rows)
    if n < 3 or (np.ptp(rows, axis=0) == 0).any():
        return [dict.fromkeys(COLUMNS, np.nan) | {"n": n} for _ in range(3)]
    with seeded(seed):
        snr, err, beta = tcol_metrics_with_bootstrapped_ci(
            rows[:, 0], rows[:, 1], rows[:, 2], alpha=1.0 - confidence, nsamples=samples, minimum_data_length=3
        )
    return [
        {
            "n": n,
            "err_std": float(err[0][i]),
            "err_std_lower": float(err[1][i]),
            "err_std_upper": float(err[2][i]),
            "snr_db": float(snr[0][i]),
            "snr_db_lower": float(snr[1][i]),
            "snr_db_upper": float(snr[2][i]),
            "beta": float(beta[0][i]),
        }
        for i in range(3)
    ]
