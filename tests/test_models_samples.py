"""Point-study protocols on small synthetic sample datasets: Tziolas 2020 clay and Zhang 2022 organic carbon."""

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from soilsat.errors import ConfigError, ProductError
from soilsat.evaluate.metrics import metrics_table
from soilsat.extract.samples import PHENOLOGY_METRICS, S2_BANDS
from soilsat.extract.static import STATIC_BANDS
from soilsat.models import clay, soc
from soilsat.models.splits import bags
from soilsat.models.tziolas import CnnSettings

SMALL = CnnSettings(epochs=2, batch_size=8, bags=2)


def samples_dataset(n: int = 30, n_obs: int = 6, seed: int = 0) -> xr.Dataset:
    """A sample x observation dataset in the extract stage's layout; clay darkens B11/B12."""
    rng = np.random.default_rng(seed)
    clay_pct = rng.uniform(5, 50, n)
    data = {}
    for k, band in enumerate(S2_BANDS):
        base = 0.1 + 0.02 * k - (0.003 if band in ("B11", "B12") else 0.0) * clay_pct
        data[band] = base[:, None] + rng.normal(0, 0.01, (n, n_obs))
    data["VV"] = -12 + 0.05 * clay_pct[:, None] + rng.normal(0, 0.5, (n, n_obs))
    data["VH"] = data["VV"] - 6
    data["VV"][:, -1] = np.nan  # an optical date without a Sentinel-1 pair
    for band in data:
        data[band][0, 3:] = np.nan  # a sample with fewer observations (padding)
    ds = xr.Dataset({k: (("sample", "observation"), v.astype("float32")) for k, v in data.items()},
                    coords={"sample": [f"s{i:02d}" for i in range(n)]})
    ds["clay"] = ("sample", clay_pct)
    ds.coords["lat"] = ("sample", 55 + rng.uniform(0, 1, n))
    ds.coords["lon"] = ("sample", 9 + rng.uniform(0, 1, n))
    ds.coords["region"] = ("sample", np.array(["a", "b"] * n)[:n])
    return ds


def windows_dataset(n: int = 25, years: int = 2, seed: int = 0) -> xr.Dataset:
    """A window dataset in the extract stage's layout; organic carbon follows elevation and mean EVI."""
    rng = np.random.default_rng(seed)
    windows = rng.normal(size=(n, len(STATIC_BANDS), 5, 5)).astype("float32")
    phenology = rng.normal(size=(n, years, len(PHENOLOGY_METRICS))).astype("float32")
    phenology[0, 0, :] = np.nan
    oc = 20 + 3 * windows[:, 0, 2, 2] + 2 * np.nan_to_num(phenology[:, :, -1]).mean(axis=1)
    ds = xr.Dataset({"windows": (("sample", "covariate", "wy", "wx"), windows),
                     "phenology": (("sample", "year", "metric"), phenology), "oc": ("sample", oc)},
                    coords={"sample": [f"s{i:02d}" for i in range(n)], "covariate": list(STATIC_BANDS),
                            "year": 2018 + np.arange(years), "metric": list(PHENOLOGY_METRICS)})
    ds.coords["region"] = ("sample", np.array(["a", "b"] * n)[:n])
    return ds


@pytest.fixture
def data():
    return clay.clay_data(samples_dataset(), observations=8)


def test_clay_data_pads_series_and_keeps_twelve_channels(data):
    assert data.series.shape == (30, 12, 8)
    assert data.channels[-2:] == ("VV", "VH")
    assert np.isnan(data.series[:, :, 6:]).all() and np.isnan(data.series[0, :, 3:]).all()
    assert np.isfinite(data.series[1, :10, :6]).all()


def test_clay_data_names_the_file_and_the_missing_variable():
    with pytest.raises(ProductError, match=r"samples\.nc: sample dataset lacks variables \['VH'\]"):
        clay.clay_data(samples_dataset().drop_vars("VH"), observations=8, source="samples.nc")
    with pytest.raises(ConfigError, match="train.tziolas.observations must be at least 8"):
        clay.clay_data(samples_dataset(), observations=4)


def test_kennard_stone_split_is_80_20_and_disjoint(data):
    calibration, test = clay.calibration_split(data, 0.8)
    assert (len(calibration), len(test)) == (24, 6)
    assert not set(calibration) & set(test)
    assert sorted([*calibration, *test]) == list(range(30))


def test_bags_are_80_percent_without_replacement_and_never_hold_a_test_sample(data):
    calibration, test = clay.calibration_split(data, 0.8)
    for bag in bags(calibration, 5, 0.8, seed=3):
        assert len(bag) == round(0.8 * 24) == len(set(bag))
        assert set(bag) <= set(calibration)
        assert not set(bag) & set(test)


def test_cnn_trains_on_bags_only_with_fewer_channels_in_the_ablations(data, monkeypatch):
    calibration, test = clay.calibration_split(data, 0.8)
    seen = []
    real = clay.train_model

    def spy(model, inputs, coords, target, settings, seed, progress=None):
        seen.append((inputs.shape, None if coords is None else coords.shape, model.coordinates is not None))
        return real(model, inputs, coords, target, settings, seed, progress)

    monkeypatch.setattr(clay, "train_model", spy)
    predictions, activations = clay.run_cnn(data, calibration, test, SMALL, 1, list(clay.CNN_VARIANTS))
    # 2 bags x 3 variants; each bag 80 % of the 24 calibration samples; 12, 10 and 10 channels.
    assert [s[0] for s in seen] == [(19, 12, 8)] * 2 + [(19, 10, 8)] * 2 + [(19, 10, 8)] * 2
    assert [s[1] for s in seen] == [(19, 2)] * 4 + [None] * 2
    assert [s[2] for s in seen] == [True] * 4 + [False] * 2
    assert list(predictions.groupby("variant", sort=False).size().items()) == [
        ("default", 6), ("without_SAR", 6), ("without_SAR_and_coordinates", 6)]
    assert set(predictions["sample"]) == set(data.samples[test])
    low, high = data.target[calibration].min(), data.target[calibration].max()
    assert predictions["predicted"].between(low, high).all(), "tanh output scaled back into the calibration range"
    # activations: 16 filters of the last convolution layer for every calibration (training) sample
    assert activations.shape == (16 * 24, 3)
    assert set(activations["sample"]) == set(data.samples[calibration])
    assert (activations["activation"] >= 0).all()


def test_cnn_inputs_scaled_with_training_ranges_only(data):
    train = np.arange(20)
    spectral, coords = clay.cnn_inputs(data, train, sar=True, coordinates=True)
    assert spectral[train].min() >= -1 and spectral[train].max() <= 1
    changed = clay.ClayData(data.samples, data.series.copy(), data.channels, data.coords.copy(), data.target,
                            data.region)
    changed.series[25] *= 100.0
    changed.coords[25] += 10.0
    spectral2, coords2 = clay.cnn_inputs(changed, train, sar=True, coordinates=True)
    np.testing.assert_array_equal(spectral2[train], spectral[train])
    np.testing.assert_array_equal(coords2[train], coords[train])
    assert coords2[25].max() > 1, "a test value outside the training range is not clipped into it"
    assert spectral2[0, :, 3:].max() == spectral2[0, :, 3:].min() == 0.0, "missing observations become 0"


def test_fit_ranges_known_answer():
    values = np.array([[0.0, 10.0], [2.0, 30.0], [100.0, -5.0]])
    ranges = clay.fit_ranges(values, np.array([0, 1]))
    np.testing.assert_array_equal(ranges.low, [0.0, 10.0])
    np.testing.assert_array_equal(ranges.high, [2.0, 30.0])
    np.testing.assert_allclose(clay.scale(values, ranges), [[-1, -1], [1, 1], [99, -2.5]])


def test_bagged_cnn_is_deterministic_for_a_seed(data):
    calibration, test = clay.calibration_split(data, 0.8)
    run = lambda seed: clay.run_cnn(data, calibration, test, SMALL, seed, ["default"])[0]["predicted"].to_numpy()
    np.testing.assert_array_equal(run(4), run(4))
    assert not np.allclose(run(4), run(5))


def test_forest_grid_is_searched_and_the_best_recorded(data):
    calibration, test = clay.calibration_split(data, 0.8)
    grid = {"max_features": [2, 24], "min_samples_leaf": [1, 50], "n_estimators": [5, 10]}
    predictions, search = clay.run_forest(data, calibration, test, grid, folds=3, seed=0)
    assert list(search.groupby("variant", sort=False).size().items()) == [("default", 8), ("without_coordinates", 8)]
    assert set(search.loc[search["variant"] == "default", "max_features"]) == {2, 12}, "24 capped at 10 bands + 2"
    assert set(search.loc[search["variant"] == "without_coordinates", "max_features"]) == {2, 10}
    best = search[search["best"]]
    assert list(best["variant"]) == ["default", "without_coordinates"]
    assert (best["min_samples_leaf"] == 1).all(), "a 50-sample leaf of 16 training samples predicts a constant"
    assert (best["rank"] == 1).all() and np.isfinite(search["cv_rmse"]).all()
    assert len(predictions) == 2 * len(test)


def test_forest_grid_needs_values():
    with pytest.raises(ConfigError, match="train.tziolas.random_forest.n_estimators"):
        clay.forest_grid({"max_features": [6], "min_samples_leaf": [5], "n_estimators": []}, 12)


def test_ann_baseline_predicts_every_test_sample(data):
    calibration, test = clay.calibration_split(data, 0.8)
    predictions = clay.run_ann(data, calibration, test, SMALL, seed=0)
    assert list(predictions.columns) == ["model", "variant", "sample", "region", "observed", "predicted"]
    assert len(predictions) == 6 and np.isfinite(predictions["predicted"]).all()
    metrics = metrics_table(predictions)
    assert set(metrics["level"]) == {"all", "region"}, "sample tables have no land cover or probe level"


def test_empty_training_set_fails_clearly(data):
    empty = np.array([], dtype=int)
    with pytest.raises(ValueError, match="empty training set"):
        clay.run_cnn(data, empty, np.arange(6), SMALL, 0, ["default"])
    with pytest.raises(ValueError, match="empty training set"):
        clay.run_ann(data, empty, np.arange(6), SMALL, 0)
    with pytest.raises(ValueError, match="empty or too small training set: 0 samples for 5-fold"):
        clay.search_forest(np.zeros((0, 3)), np.zeros(0), {"max_features": [1], "min_samples_leaf": [1],
                                                           "n_estimators": [1]}, 5, 0)
    sdata = soc.soc_data(windows_dataset(), ["elevation", "slope"])
    fold = soc.Fold(0, 0, empty, empty, np.arange(5))
    with pytest.raises(ValueError, match="empty training set in fold 0 of repeat 0"):
        soc.fold_cnn_lstm(sdata, "static", fold, soc.CnnLstmSettings(epochs=1), 0)
    with pytest.raises(ValueError, match="empty training set in fold 0 of repeat 0"):
        soc.fold_forest(sdata, "static", fold, {"n_estimators": 2, "min_samples_leaf": 1}, 0, 1)


def test_unknown_variant_or_group_fails_with_the_key(data):
    calibration, test = clay.calibration_split(data, 0.8)
    with pytest.raises(ConfigError, match="train.tziolas.variants: unknown \\['no_radar'\\]"):
        clay.run_cnn(data, calibration, test, SMALL, 0, ["no_radar"])
    sdata = soc.soc_data(windows_dataset(), ["elevation"])
    with pytest.raises(ConfigError, match="train.zhang.groups: unknown group 'climate'"):
        soc.run_protocol(sdata, "rf", ["climate"], 5, 1, 0)
    with pytest.raises(ConfigError, match="train.zhang.static_covariates: \\['rainfall'\\] not in windows.nc"):
        soc.soc_data(windows_dataset(), ["elevation", "rainfall"])


def test_zhang_groups_feed_the_lstm_the_right_series():
    sdata = soc.soc_data(windows_dataset(years=3), ["elevation", "slope", "clay"])
    assert sdata.windows.shape == (25, 3, 5, 5)
    assert soc.group_series(sdata, "static") is None
    assert soc.group_series(sdata, "static_phenology").shape == (25, 3, 6)
    assert soc.group_series(sdata, "static_EVI").shape == (25, 3, 1)
    assert soc.group_series(sdata, "static_phenology_EVI").shape == (25, 3, 7)
    assert soc.forest_features(sdata, "static_phenology_EVI").shape == (25, 3 + 3 * 7)


def test_standardise_uses_training_samples_only():
    values = np.arange(24, dtype=float).reshape(6, 2, 2)
    train = np.array([0, 1, 2, 3])
    first = soc.standardise(values, train, (0, 2))
    changed = values.copy()
    changed[5] = 1e6
    second = soc.standardise(changed, train, (0, 2))
    np.testing.assert_array_equal(first[train], second[train])
    np.testing.assert_allclose(first[train].mean(axis=(0, 2)), 0, atol=1e-6)


@pytest.mark.parametrize("model", ["rf", "cnn_lstm"])
def test_zhang_protocol_predicts_each_sample_once_per_repeat(model):
    sdata = soc.soc_data(windows_dataset(), ["elevation", "slope"])
    settings = soc.CnnLstmSettings(epochs=1, batch_size=8, units=4, layers=1)
    groups = ["static", "static_phenology_EVI"]
    predictions = soc.run_protocol(sdata, model, groups, folds=5, repeats=2, seed=0, settings=settings,
                                   forest={"n_estimators": 5, "min_samples_leaf": 1})
    single = predictions[predictions["repeat"] != "mean"]
    assert single.groupby(["variant", "repeat"])["sample"].agg(lambda s: sorted(s) == sorted(sdata.samples)).all()
    assert (predictions["repeat"] == "mean").sum() == 2 * 25
    assert np.isfinite(predictions["predicted"]).all()
    metrics = metrics_table(predictions)
    repeats = metrics[metrics["level"] == "repeat"]
    assert list(repeats.groupby("variant").size()) == [2, 2]
    assert np.isfinite(repeats["rmse"]).all()


def test_zhang_cnn_lstm_is_deterministic_for_a_seed():
    sdata = soc.soc_data(windows_dataset(), ["elevation"])
    settings = soc.CnnLstmSettings(epochs=2, batch_size=8, units=4, layers=1)
    run = lambda seed: soc.run_protocol(sdata, "cnn_lstm", ["static_EVI"], 5, 1, seed, settings)["predicted"].to_numpy()
    torch.use_deterministic_algorithms(True)
    np.testing.assert_array_equal(run(1), run(1))
    assert not np.allclose(run(1), run(2))
