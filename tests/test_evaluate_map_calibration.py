"""A map forest's calibration: blocked and random cross-validation, conformal bands, the AOA, and the COG bands."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from compliance import cf_failures
from soilsat.evaluate.blocks import BlockSettings
from soilsat.evaluate.conformal import ConformalSettings
from soilsat.evaluate.map_calibration import (
    band_metadata,
    calibrate_forest,
    read_calibration,
    uncertainty_bands,
    write_calibration,
)
from soilsat.grid import StudyGrid
from soilsat.io import write_cog
from soilsat.models.forest import ForestSettings, fit_forest

FOREST = ForestSettings(n_estimators=30, min_samples_leaf=3)
INTERVALS = ConformalSettings(levels=(0.5, 0.9), map_level=0.9)


@pytest.fixture(scope="module")
def calibrated():
    """Training rows in eight spatial blocks whose predictors span [0, 1], calibrated."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (400, 2))
    y = 2 * x[:, 0] + np.sin(3 * x[:, 1]) + rng.normal(0, 0.1 + 0.2 * x[:, 0], 400)
    blocks = np.array([f"b{i}" for i in rng.integers(0, 8, 400)])
    result = calibrate_forest(x, y, ("a", "b"), blocks, FOREST, BlockSettings("block", 1000, 4), INTERVALS, 1000, 1, 1)
    return x, y, result


def test_held_out_rows_protocols_and_coverage(calibrated):
    x, y, result = calibrated
    table = result.held_out
    assert len(table) == len(y) and table["predicted"].notna().all() and (table["spread"] > 0).all()
    for block, folds in table.groupby("block")["fold"]:
        assert folds.nunique() == 1, block  # a block is held out whole
    assert set(result.protocols["protocol"]) == {"random", "blocked"}
    assert (result.protocols["n"] == 400).all()
    coverage = result.coverage.set_index("level")["coverage"]
    assert 0.8 <= coverage[0.9] <= 0.97 and 0.4 <= coverage[0.5] <= 0.6
    assert table["inside_aoa"].mean() > 0.9  # training rows lie inside their own AOA


def test_the_calibration_round_trips(calibrated, tmp_path):
    _, _, result = calibrated
    write_calibration(result.calibration, tmp_path / "c.nc")
    back = read_calibration(tmp_path / "c.nc")
    assert cf_failures(tmp_path / "c.nc") == []
    assert back.features == ("a", "b") and back.level == 0.9
    assert back.quantile == pytest.approx(result.calibration.quantile)
    assert back.applicability.threshold == pytest.approx(result.calibration.applicability.threshold)
    assert np.allclose(back.applicability.reference, result.calibration.applicability.reference)


def test_bands_of_a_map_and_their_cog_metadata(calibrated, tmp_path):
    x, y, result = calibrated
    model = fit_forest(x, y, FOREST, 1, 1)
    stack = np.full((2, 4, 5), 0.5, np.float32)
    stack[:, 0, 0] = np.nan  # an unmapped pixel
    stack[:, 3, 4] = (5.0, 5.0)  # far outside the training data
    predicted = np.where(np.isfinite(stack[0]), 1.0, np.nan).astype(np.float32)
    bands = uncertainty_bands(model, stack, predicted, result.calibration)
    lower, upper, di, aoa = bands
    assert np.isnan(bands[:, 0, 0]).all()
    assert (lower[1:] < 1.0).all() and (upper[1:] > 1.0).all()
    assert aoa[3, 4] == 0 and aoa[1, 1] == 1 and di[3, 4] > result.calibration.applicability.threshold
    names, tags = band_metadata("ssm", "m3 m-3", "surface soil moisture", 0.9)
    grid = StudyGrid(region="r", epsg=32632, x0=480000.0, y0=6200000.0, width=5, height=4)
    path = tmp_path / "map.tif"
    write_cog(path, np.concatenate([predicted[None], bands]), grid, names, band_tags=tags)
    with rasterio.open(path) as src:
        assert src.descriptions == ("ssm", "ssm_lower", "ssm_upper", "dissimilarity_index", "area_of_applicability")
        for i in range(1, 6):
            assert src.tags(i)["units"] and src.tags(i)["long_name"], i
        assert "90 %" in src.tags(2)["long_name"] and src.tags(4)["units"] == "1"


def test_a_single_block_falls_back_to_random_folds(calibrated, caplog):
    x, y, _ = calibrated
    blocks = np.full(len(y), "one")
    with caplog.at_level("WARNING"):
        result = calibrate_forest(
            x, y, ("a", "b"), blocks, FOREST, BlockSettings("block", 1e6, 4), INTERVALS, 500, 1, 1
        )
    assert "falls back to random folds" in caplog.text
    assert (result.protocols["blocks"] == 1).all()
    assert result.protocols.set_index("protocol").loc["blocked", "rmse"] == pytest.approx(
        result.protocols.set_index("protocol").loc["random", "rmse"]
    )
