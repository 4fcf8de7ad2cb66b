"""benchmarks/rtc_vs_sarsen.py's emulation of sarsen's area cells (areas_in_cells), which the benchmark uses to show
what the difference between soilsat's gamma0 and sarsen's is; sarsen itself is not needed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import rtc_vs_sarsen  # noqa: E402  # benchmarks/rtc_vs_sarsen.py, on the path just above


def four_lookups(az: np.ndarray, sr: np.ndarray, area: np.ndarray) -> np.ndarray:
    """sarsen's gamma_bilinear written out: four sums of bilinearly weighted areas, each by its corner cell, each
    looked up at the pixel's own corner cell, added."""
    a0, a1, s0, s1 = np.floor(az), np.ceil(az), np.floor(sr), np.ceil(sr)
    total = np.zeros(az.shape)
    for ia, wa in ((a0, np.abs(a1 - az)), (a1, np.abs(a0 - az))):
        for js, ws in ((s0, np.abs(s1 - sr)), (s1, np.abs(s0 - sr))):
            sums: dict[tuple[float, float], float] = {}
            for key, value in zip(zip(ia.ravel(), js.ravel()), (area * wa * ws).ravel()):
                sums[key] = sums.get(key, 0.0) + value
            total += np.array([sums[key] for key in zip(ia.ravel(), js.ravel())]).reshape(az.shape)
    return total


def test_cell_sums_equal_sarsens_four_weighted_lookups():
    rng = np.random.default_rng(3)
    line = rng.uniform(10.0, 40.0, (30, 30))
    slant = rng.uniform(100.0, 130.0, (30, 30))
    area = rng.uniform(50.0, 150.0, (30, 30))
    ours = rtc_vs_sarsen.areas_in_cells(line, slant, area, 3.0)
    np.testing.assert_allclose(ours, four_lookups(line / 3.0, slant / 3.0, area), rtol=1e-12)


def test_each_pixel_gets_the_areas_of_its_cell_and_no_area_is_lost():
    line = np.array([[0.2, 2.9, 3.0, 5.5, np.nan]])
    slant = np.array([[0.1, 2.5, 0.0, 1.0, 1.0]])
    area = np.array([[1.0, 2.0, 4.0, 8.0, 16.0]])
    sums = rtc_vs_sarsen.areas_in_cells(line, slant, area, 3.0)
    # cells (line // 3, slant // 3): (0, 0), (0, 0), (1, 0), (1, 0), none (no position)
    np.testing.assert_array_equal(sums, [[3.0, 3.0, 12.0, 12.0, np.nan]])
