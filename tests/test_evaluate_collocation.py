"""Triple collocation (pytesmo) recovers known error standard deviations."""

from __future__ import annotations

import numpy as np
import pytest

from soilsat.evaluate.collocation import COLUMNS, triple_collocation


def test_known_errors_are_recovered_with_intervals():
    rng = np.random.default_rng(0)
    truth = rng.normal(0.25, 0.08, 4000)
    in_situ = truth + rng.normal(0, 0.02, truth.size)
    model = 0.1 + 0.8 * truth + rng.normal(0, 0.03, truth.size)
    product = 1.5 * truth + rng.normal(0, 0.06, truth.size)
    rows = triple_collocation([in_situ, model, product], 0.95, 200, seed=1)
    # error sds scaled to the in-situ series: 0.02, 0.03 / 0.8, 0.06 / 1.5
    for row, expected in zip(rows, (0.02, 0.0375, 0.04)):
        assert row["err_std"] == pytest.approx(expected, rel=0.12)
        assert row["err_std_lower"] < row["err_std"] < row["err_std_upper"]
        assert row["n"] == 4000
    snr = [10 * np.log10(0.08**2 / 0.02**2), 10 * np.log10((0.8 * 0.08) ** 2 / 0.03**2)]
    assert rows[0]["snr_db"] == pytest.approx(snr[0], abs=1.0)
    assert rows[1]["snr_db"] == pytest.approx(snr[1], abs=1.0)
    assert rows[0]["beta"] == 1.0 and rows[1]["beta"] == pytest.approx(1 / 0.8, rel=0.05)


def test_too_few_or_constant_triplets_give_nan():
    rows = triple_collocation([np.array([0.1, np.nan]), np.array([0.2, 0.3]), np.array([0.1, 0.2])], 0.95, 50, 0)
    assert all(np.isnan(r["err_std"]) and r["n"] == 1 for r in rows)
    flat = triple_collocation([np.ones(10), np.arange(10.0), np.arange(10.0)], 0.95, 50, 0)
    assert set(flat[0]) == set(COLUMNS) and np.isnan(flat[0]["snr_db"])
