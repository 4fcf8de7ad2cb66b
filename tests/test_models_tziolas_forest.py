"""The Tziolas et al. (2020) random forest: a grid search per variant, one forest per bag, NaN read as missing."""

import dataclasses

import numpy as np
import pytest

from conftest import schema_section
from soilsat.errors import ConfigError
from soilsat.models.seeding import member_seed
from soilsat.models.splits import bags
from soilsat.models.tziolas import forest, protocol, samples
from synthetic import samples_dataset, with_series

VV = 10  # channel index of VV after the ten Sentinel-2 bands


def grid(**changes: object) -> forest.ForestGrid:
    """The schema's grid (train.tziolas.random_forest) with some entries changed."""
    return dataclasses.replace(forest.ForestGrid.from_config(schema_section("train.tziolas.random_forest")), **changes)


@pytest.fixture
def data():
    return samples.clay_data(samples_dataset(), observations=8)


@pytest.fixture
def split(data):
    calibration, test = protocol.calibration_split(data, 0.8)
    return calibration, test, bags(calibration, 2, 0.8, seed=0)


def test_bagged_forest_is_the_mean_of_one_forest_per_bag(data, split):
    calibration, test, members = split
    x = samples.table_features(data, samples.TABLE_VARIANTS["median"])
    params = {"max_features": 4, "min_samples_leaf": 2, "n_estimators": 5}
    mean = forest.bagged_forest(x, data.target, members, test, params, seed=3, key=(7,), threads=1)
    single = [
        forest.fit_forest(x[bag], data.target[bag], params, member_seed(3, 7, b), 1).predict(x[test])
        for b, bag in enumerate(members)
    ]
    np.testing.assert_allclose(mean, (single[0] + single[1]) / 2)
    assert not np.allclose(single[0], single[1]), "the bags differ, so do their forests"


def test_the_forest_reads_a_missing_sar_value_apart_from_0_db(data):
    # Missing VV on the first date goes with low clay, an observed (-15..-5 dB) one with high clay.
    series = data.series.copy()
    low_clay = data.target < np.median(data.target)
    series[low_clay, VV, 0] = np.nan
    table = samples.table_features(with_series(data, series), samples.TABLE_VARIANTS["per_date"])
    assert np.isnan(table[low_clay, VV * 8]).all() and np.isfinite(table[~low_clay, VV * 8]).all()
    column = table[:, [VV * 8]]
    model = forest.fit_forest(column, data.target, {"max_features": 1, "min_samples_leaf": 3, "n_estimators": 20}, 0, 1)
    missing, zero_db = model.predict(np.array([[np.nan], [0.0]]))
    assert missing < np.median(data.target) < zero_db


def test_forest_grid_is_searched_and_the_best_recorded(data, split):
    calibration, test, members = split
    searched = grid(max_features=(2, 24), min_samples_leaf=(1, 50), n_estimators=(5, 10), cv_folds=3)
    predictions, search = forest.run_forest(
        data, calibration, test, members, searched, seed=0, threads=1, variants=searched.variants
    )
    assert list(search.groupby("variant", sort=False).size().items()) == [
        ("median", 8),
        ("median_without_coordinates", 8),
        ("per_date", 8),
    ]
    assert set(search.loc[search["variant"] == "median", "max_features"]) == {2, 12}, "24 capped at 10 bands + 2"
    assert set(search.loc[search["variant"] == "median_without_coordinates", "max_features"]) == {2, 10}
    assert set(search.loc[search["variant"] == "per_date", "max_features"]) == {2, 24}, "12 x 8 dates + 2 features"
    best = search[search["best"]]
    assert list(best["variant"]) == ["median", "median_without_coordinates", "per_date"]
    assert (best["min_samples_leaf"] == 1).all(), "a 50-sample leaf of 16 training samples predicts a constant"
    assert (best["rank"] == 1).all() and np.isfinite(search["cv_rmse"]).all()
    assert list(predictions.groupby("variant", sort=False).size().items()) == [
        ("median", 6),
        ("median_without_coordinates", 6),
        ("per_date", 6),
    ]
    assert np.isfinite(predictions["predicted"]).all()


def test_forest_grid_needs_values():
    with pytest.raises(ConfigError, match="train.tziolas.random_forest.n_estimators"):
        forest.forest_grid(grid(n_estimators=()), 12)


def test_empty_training_set_fails_clearly():
    with pytest.raises(ValueError, match="empty or too small training set: 0 samples for 5-fold"):
        forest.search_forest(
            np.zeros((0, 3)),
            np.zeros(0),
            grid(max_features=(1,), min_samples_leaf=(1,), n_estimators=(1,), cv_folds=5),
            0,
            1,
        )
    with pytest.raises(ConfigError, match="train.tziolas.bags must be at least 1"):
        forest.bagged_forest(np.zeros((4, 2)), np.zeros(4), [], np.arange(2), {}, 0, (0,), 1)


def test_unknown_variant_fails_with_the_key(data, split):
    calibration, test, members = split
    with pytest.raises(ConfigError, match="train.tziolas.random_forest.variants: unknown \\['mean'\\]"):
        forest.run_forest(data, calibration, test, members, grid(), 0, 1, ["mean"])


def test_the_bags_own_predictions_come_out_without_changing_the_mean(data, split):
    calibration, test, members = split
    grid_ = grid(max_features=(4,), min_samples_leaf=(2,), n_estimators=(5,), cv_folds=3)
    plain, _ = forest.run_forest(data, calibration, test, members, grid_, seed=0, threads=1, variants=["median"])
    bag_predictions: list = []
    predictions, _ = forest.run_forest(
        data, calibration, test, members, grid_, seed=0, threads=1, variants=["median"], bag_predictions=bag_predictions
    )
    assert predictions.equals(plain)  # the bagged predictions are bit for bit those without the members
    (table,) = bag_predictions
    assert sorted(table["bag"].unique()) == [0, 1] and set(table["sample"]) == set(data.samples[test])
    mean = table.groupby("sample", sort=False)["predicted"].mean()
    np.testing.assert_allclose(mean.loc[predictions["sample"]].to_numpy(), predictions["predicted"].to_numpy())
