"""Soil-moisture baselines of Simonsen (2021)'s comparison: climatology and change detection."""

import numpy as np
import pytest

from soilsat.errors import ConfigError
from soilsat.models.simonsen import baselines
from synthetic import probe_dataset

BASELINES = {"climatology": {"window_days": 0}, "change_detection": {"low_percentile": 10, "high_percentile": 90}}


def test_climatology_is_the_day_of_year_mean_of_the_other_probes():
    target = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0], [5.0, np.nan, 7.0]])
    doy = np.array([1, 2, 1])
    out = baselines.climatology(target, doy, 0)
    # probe 0: others on doy 1 are 3, 5, 5, 7 -> 5; doy 2: 4
    np.testing.assert_allclose(out[0], [5.0, 4.0, 5.0])
    np.testing.assert_allclose(out[2], [(1 + 3 + 5) / 3, 3.0, 3.0])


def test_change_detection_scales_between_sigma0_percentiles():
    sigma0 = np.tile(np.linspace(-20, -10, 11), (3, 1))
    target = np.tile(np.linspace(0.1, 0.3, 11), (3, 1))
    out = baselines.change_detection(sigma0, target, 10.0, 90.0)
    assert out[0, 0] == pytest.approx(0.12) and out[0, -1] == pytest.approx(0.28)
    assert out[0, 5] == pytest.approx(0.2)


def test_baselines_write_tidy_tables():
    ds = probe_dataset()
    for model in ("climatology", "change_detection"):
        out = baselines.run_baseline(ds, baselines.baseline_settings(model, BASELINES[model]), "VV")
        assert len(out) == 200 and set(out["repeat"]) == {"mean"} and set(out["model"]) == {model}


def test_an_unknown_baseline_is_named():
    with pytest.raises(ConfigError, match="unknown baseline"):
        baselines.baseline_settings("persistence", {})
