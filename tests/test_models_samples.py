"""Point-study protocols on small synthetic sample datasets: Tziolas 2020 clay and Zhang 2022 organic carbon."""

import numpy as np
import pytest
import torch
import xarray as xr

from soilsat.errors import ConfigError, ProductError
from soilsat.evaluate.metrics import metrics_table
from soilsat.extract.samples import PHENOLOGY_METRICS, S2_BANDS
from soilsat.extract.static import STATIC_BANDS
from soilsat.models import clay, soc
from soilsat.models.scaling import to_unit_range
from soilsat.models.splits import bags
from soilsat.models.tziolas import Ann, MultiInputCnn, NetworkSettings

SMALL = NetworkSettings(epochs=2, batch_size=8, learning_rate=1e-3, l2=0.002)
VV = 10  # channel index of VV after the ten Sentinel-2 bands


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


@pytest.fixture
def split(data):
    calibration, test = clay.calibration_split(data, 0.8)
    return calibration, test, bags(calibration, 2, 0.8, seed=0)


def with_series(data: clay.ClayData, series: np.ndarray) -> clay.ClayData:
    """The same samples with other series values."""
    return clay.ClayData(data.samples, series, data.channels, data.coords, data.target, data.region)


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


def test_cnn_trains_on_bags_only_with_fewer_channels_in_the_ablations(data, split, monkeypatch):
    calibration, test, members = split
    seen = []
    real = clay.train_model

    def spy(model, inputs, coords, target, settings, seed, progress=None):
        coords_shape = None if coords is None else tuple(coords.shape)
        seen.append((tuple(inputs.shape), coords_shape, model.coordinates is not None))
        return real(model, inputs, coords, target, settings, seed, progress)

    monkeypatch.setattr(clay, "train_model", spy)
    predictions, activations = clay.run_cnn(data, calibration, test, members, SMALL, 1, list(clay.CNN_VARIANTS))
    # 2 bags x 4 variants; each bag 80 % of the 24 calibration samples; value + mask planes of 12 or 10 channels.
    assert [s[0] for s in seen] == [(19, 2, 12, 8)] * 4 + [(19, 2, 10, 8)] * 4
    assert [s[1] for s in seen] == [(19, 2)] * 2 + [None] * 2 + [(19, 2)] * 2 + [None] * 2
    assert [s[2] for s in seen] == [True, True, False, False, True, True, False, False]
    assert list(predictions.groupby("variant", sort=False).size().items()) == [
        ("default", 6), ("without_coordinates", 6), ("without_SAR", 6), ("without_SAR_and_coordinates", 6)]
    assert set(predictions["sample"]) == set(data.samples[test])
    low, high = data.target[calibration].min(), data.target[calibration].max()
    assert predictions["predicted"].between(low, high).all(), "tanh output scaled back into the calibration range"
    # activations: 16 filters of the last convolution layer for every calibration (training) sample
    assert activations.shape == (16 * 24, 3)
    assert set(activations["sample"]) == set(data.samples[calibration])
    assert (activations["activation"] >= 0).all()


def test_every_algorithm_trains_on_the_same_bags_and_averages_them(data, split, monkeypatch):
    calibration, test, members = split
    low, high = data.target[calibration].min(), data.target[calibration].max()
    targets = {"network": [], "forest": []}
    real_train, real_forest = clay.train_model, clay.fit_forest

    def train_spy(model, inputs, coords, target, settings, seed, progress=None):
        targets["network"].append(target.numpy())
        return real_train(model, inputs, coords, target, settings, seed, progress)

    def forest_spy(x, y, params, seed, threads=1):
        targets["forest"].append(y)
        return real_forest(x, y, params, seed, threads)

    monkeypatch.setattr(clay, "train_model", train_spy)
    monkeypatch.setattr(clay, "fit_forest", forest_spy)
    clay.run_cnn(data, calibration, test, members, SMALL, 0, ["default"])
    clay.run_ann(data, calibration, test, members, SMALL, 0, ["median", "per_date"])
    grid = {"max_features": [4], "min_samples_leaf": [2], "n_estimators": [5]}
    clay.run_forest(data, calibration, test, members, grid, 3, 0, variants=["median", "per_date"])
    expected = [to_unit_range(data.target[bag], low, high) for bag in members]
    assert len(targets["network"]) == 3 * len(members) and len(targets["forest"]) == 2 * len(members)
    for got, want in zip(targets["network"], expected * 3):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    for got, bag in zip(targets["forest"], members * 2):
        np.testing.assert_array_equal(got, data.target[bag])


def test_bagged_forest_is_the_mean_of_one_forest_per_bag(data, split):
    calibration, test, members = split
    x = clay.table_features(data, clay.TABLE_VARIANTS["median"])
    params = {"max_features": 4, "min_samples_leaf": 2, "n_estimators": 5}
    mean = clay.bagged_forest(x, data.target, members, test, params, seed=3, key=(7,))
    single = [clay.fit_forest(x[bag], data.target[bag], params, clay.member_seed(3, 7, b)).predict(x[test])
              for b, bag in enumerate(members)]
    np.testing.assert_allclose(mean, (single[0] + single[1]) / 2)
    assert not np.allclose(single[0], single[1]), "the bags differ, so do their forests"


def test_cnn_inputs_are_values_and_mask_scaled_with_training_ranges_only(data):
    train = np.arange(20)
    spectral, coords = clay.cnn_inputs(data, train, clay.CNN_VARIANTS["default"])
    assert spectral.shape == (30, 2, 12, 8) and coords.shape == (30, 2)
    values, mask = spectral[:, 0], spectral[:, 1]
    assert set(np.unique(mask)) == {0.0, 1.0}
    np.testing.assert_array_equal(mask, np.isfinite(data.series))
    assert (values[mask == 0] == 0).all(), "missing values are 0 in the value plane, and masked"
    assert mask[0, :, 3:].max() == 0 and mask[5, VV, 5] == 0 and mask[5, VV, 4] == 1, "padding and a missing VV"
    assert values[train][mask[train] == 1].min() == -1 and values[train][mask[train] == 1].max() == 1
    changed = clay.ClayData(data.samples, data.series.copy(), data.channels, data.coords.copy(), data.target,
                            data.region)
    changed.series[25] *= 100.0
    changed.coords[25] += 10.0
    spectral2, coords2 = clay.cnn_inputs(changed, train, clay.CNN_VARIANTS["default"])
    np.testing.assert_array_equal(spectral2[train], spectral[train])
    np.testing.assert_array_equal(coords2[train], coords[train])
    assert coords2[25].max() > 1, "a test value outside the training range is not clipped into it"
    without_sar, none = clay.cnn_inputs(data, train, clay.CNN_VARIANTS["without_SAR_and_coordinates"])
    assert without_sar.shape == (30, 2, 10, 8) and none is None


def test_fit_ranges_known_answer():
    values = np.array([[0.0, 10.0], [2.0, 30.0], [100.0, -5.0], [np.nan, 20.0]])
    ranges = clay.fit_ranges(values, np.array([0, 1, 3]))
    np.testing.assert_array_equal(ranges.low, [0.0, 10.0])
    np.testing.assert_array_equal(ranges.high, [2.0, 30.0])
    np.testing.assert_allclose(clay.scale(values, ranges), [[-1, -1], [1, 1], [99, -2.5], [np.nan, 0]])
    np.testing.assert_array_equal(clay.mask_planes(clay.scale(values, ranges))[3], [[0, 0], [0, 1]])


def test_table_features_of_the_rf_and_ann_variants(data):
    median = clay.table_features(data, clay.TABLE_VARIANTS["median"])
    np.testing.assert_allclose(median[:, :10], np.nanmedian(data.series[:, :10], axis=2), rtol=1e-6)
    np.testing.assert_array_equal(median[:, 10:], data.coords)
    assert clay.table_features(data, clay.TABLE_VARIANTS["median_without_coordinates"]).shape == (30, 10)
    per_date = clay.table_features(data, clay.TABLE_VARIANTS["per_date"])
    assert per_date.shape == (30, 12 * 8 + 2)
    assert per_date[5, VV * 8 + 4] == data.series[5, VV, 4] and np.isnan(per_date[5, VV * 8 + 5]), "NaN, not 0"
    planes = clay.ann_inputs(data, np.arange(24), clay.TABLE_VARIANTS["per_date"])
    assert planes.shape == (30, 2, 98)
    np.testing.assert_array_equal(planes[:, 1, :96], np.isfinite(data.series).reshape(30, 96))
    assert (planes[:, 1, 96:] == 1).all() and (planes[:, 0][planes[:, 1] == 0] == 0).all()
    assert clay.ann_inputs(data, np.arange(24), clay.TABLE_VARIANTS["median"]).shape == (30, 12)


@pytest.mark.parametrize("garbage", [999.0, -1e6, np.nan, "random"])
def test_padding_and_missing_sar_contribute_nothing_whatever_they_hold(garbage):
    data = clay.clay_data(samples_dataset(), observations=16)  # six observations: the second pooled half is padding
    calibration, test = clay.calibration_split(data, 0.8)
    members = bags(calibration, 2, 0.8, seed=0)
    spectral, coords = clay.cnn_inputs(data, calibration, clay.CNN_VARIANTS["default"])
    per_date = clay.ann_inputs(data, calibration, clay.TABLE_VARIANTS["per_date"])
    y = to_unit_range(data.target, data.target.min(), data.target.max())
    _, cnns = clay.bagged_networks(lambda: MultiInputCnn(12, 16), spectral, coords, y, members, test, SMALL, 0, (0,),
                                   "c")
    _, anns = clay.bagged_networks(lambda: Ann(12 * 16 + 2, masked=True), per_date, None, y, members, test, SMALL, 0,
                                   (1,), "a")

    def filled(planes: np.ndarray) -> np.ndarray:
        out = planes.copy()
        unobserved = out[:, 1] == 0
        fill = np.random.default_rng(0).normal(0, 50, unobserved.sum()) if garbage == "random" else garbage
        out[:, 0][unobserved] = fill
        return out

    # sample 0 is padded after its third observation, all after their sixth; no sample has VV on its sixth date
    assert (spectral[0, 1, :, 3:] == 0).all() and (spectral[:, 1, :, 6:] == 0).all()
    assert (spectral[:, 1, VV, 5] == 0).all() and (spectral[1:, 1, :VV, 5] == 1).all()
    with torch.no_grad():
        for model, x, c in ((cnns[0], spectral, coords), (anns[0], per_date, None)):
            assert not model.training
            c_t = None if c is None else torch.tensor(c)
            clean = model(torch.tensor(x), c_t).numpy()
            dirty = model(torch.tensor(filled(x)), c_t).numpy()
            np.testing.assert_array_equal(dirty, clean)
        pooled = cnns[0].features(torch.tensor(filled(spectral))).reshape(30, 16, 6, 2)
        assert (pooled[:, :, :, 1] == 0).all(), "the pooled position of observations 8-15 (padding) is exactly 0"
        assert (pooled[:, :, :, 0] > 0).any()


def test_a_missing_sar_value_is_not_a_sar_value_of_0_db(data, split):
    calibration, test, members = split
    series = data.series.copy()
    series[calibration, VV, 0] = np.linspace(-10, 10, len(calibration))
    series[calibration, VV] = np.clip(series[calibration, VV], -10, 10)  # 0 dB scales to exactly 0 for VV
    sample = test[0]
    missing, zero = series.copy(), series.copy()
    missing[sample, VV, 1] = np.nan
    zero[sample, VV, 1] = 0.0
    cnn = {name: clay.cnn_inputs(with_series(data, s), calibration, clay.CNN_VARIANTS["default"])
           for name, s in (("missing", missing), ("zero", zero))}
    assert cnn["missing"][0][sample, 0, VV, 1] == cnn["zero"][0][sample, 0, VV, 1] == 0.0, "the values alone agree"
    assert (cnn["missing"][0][sample, 1, VV, 1], cnn["zero"][0][sample, 1, VV, 1]) == (0.0, 1.0)
    ann = {name: clay.ann_inputs(with_series(data, s), calibration, clay.TABLE_VARIANTS["per_date"])
           for name, s in (("missing", missing), ("zero", zero))}
    column = VV * 8 + 1
    assert ann["missing"][sample, 0, column] == ann["zero"][sample, 0, column] == 0.0
    assert (ann["missing"][sample, 1, column], ann["zero"][sample, 1, column]) == (0.0, 1.0)
    y = to_unit_range(data.target, data.target.min(), data.target.max())
    spectral, coords = cnn["missing"]
    _, cnns = clay.bagged_networks(lambda: MultiInputCnn(12, 8), spectral, coords, y, members, test, SMALL, 0, (0,),
                                   "c")
    _, anns = clay.bagged_networks(lambda: Ann(98, masked=True), ann["missing"], None, y, members, test, SMALL, 0, (1,),
                                   "a")
    with torch.no_grad():
        cnn_out = [float(cnns[0](torch.tensor(cnn[k][0][[sample]]), torch.tensor(cnn[k][1][[sample]]))) for k in cnn]
        ann_out = [float(anns[0](torch.tensor(ann[k][[sample]]))) for k in ann]
    assert cnn_out[0] != cnn_out[1] and ann_out[0] != ann_out[1]


def test_the_forest_reads_a_missing_sar_value_apart_from_0_db(data):
    # Missing VV on the first date goes with low clay, an observed (-15..-5 dB) one with high clay.
    series = data.series.copy()
    low_clay = data.target < np.median(data.target)
    series[low_clay, VV, 0] = np.nan
    table = clay.table_features(with_series(data, series), clay.TABLE_VARIANTS["per_date"])
    assert np.isnan(table[low_clay, VV * 8]).all() and np.isfinite(table[~low_clay, VV * 8]).all()
    column = table[:, [VV * 8]]
    forest = clay.fit_forest(column, data.target, {"max_features": 1, "min_samples_leaf": 3, "n_estimators": 20}, 0)
    missing, zero_db = forest.predict(np.array([[np.nan], [0.0]]))
    assert missing < np.median(data.target) < zero_db


def test_tziolas_models_are_deterministic_for_a_seed(data, split):
    calibration, test, members = split
    cnn = lambda seed: clay.run_cnn(data, calibration, test, members, SMALL, seed, ["default"])[0]["predicted"]
    ann = lambda seed: clay.run_ann(data, calibration, test, members, SMALL, seed, ["per_date"])["predicted"]
    for run in (cnn, ann):
        np.testing.assert_array_equal(run(4), run(4))
        assert not np.allclose(run(4), run(5))


def test_forest_grid_is_searched_and_the_best_recorded(data, split):
    calibration, test, members = split
    grid = {"max_features": [2, 24], "min_samples_leaf": [1, 50], "n_estimators": [5, 10]}
    predictions, search = clay.run_forest(data, calibration, test, members, grid, folds=3, seed=0)
    assert list(search.groupby("variant", sort=False).size().items()) == [
        ("median", 8), ("median_without_coordinates", 8), ("per_date", 8)]
    assert set(search.loc[search["variant"] == "median", "max_features"]) == {2, 12}, "24 capped at 10 bands + 2"
    assert set(search.loc[search["variant"] == "median_without_coordinates", "max_features"]) == {2, 10}
    assert set(search.loc[search["variant"] == "per_date", "max_features"]) == {2, 24}, "12 x 8 dates + 2 features"
    best = search[search["best"]]
    assert list(best["variant"]) == ["median", "median_without_coordinates", "per_date"]
    assert (best["min_samples_leaf"] == 1).all(), "a 50-sample leaf of 16 training samples predicts a constant"
    assert (best["rank"] == 1).all() and np.isfinite(search["cv_rmse"]).all()
    assert list(predictions.groupby("variant", sort=False).size().items()) == [
        ("median", 6), ("median_without_coordinates", 6), ("per_date", 6)]
    assert np.isfinite(predictions["predicted"]).all()


def test_forest_grid_needs_values():
    with pytest.raises(ConfigError, match="train.tziolas.random_forest.n_estimators"):
        clay.forest_grid({"max_features": [6], "min_samples_leaf": [5], "n_estimators": []}, 12)


def test_ann_baseline_predicts_every_test_sample_in_each_variant(data, split):
    calibration, test, members = split
    predictions = clay.run_ann(data, calibration, test, members, SMALL, seed=0)
    assert list(predictions.columns) == ["model", "variant", "sample", "region", "observed", "predicted"]
    assert list(predictions.groupby("variant", sort=False).size().items()) == [
        ("median", 6), ("median_without_coordinates", 6), ("per_date", 6)]
    assert np.isfinite(predictions["predicted"]).all()
    metrics = metrics_table(predictions)
    assert set(metrics["level"]) == {"all", "region"}, "sample tables have no land cover or probe level"


def test_empty_training_set_fails_clearly(data):
    empty = np.array([], dtype=int)
    with pytest.raises(ValueError, match="empty training set"):
        clay.run_cnn(data, empty, np.arange(6), [empty], SMALL, 0, ["default"])
    with pytest.raises(ValueError, match="empty training set"):
        clay.run_ann(data, empty, np.arange(6), [empty], SMALL, 0)
    with pytest.raises(ValueError, match="empty or too small training set: 0 samples for 5-fold"):
        clay.search_forest(np.zeros((0, 3)), np.zeros(0), {"max_features": [1], "min_samples_leaf": [1],
                                                           "n_estimators": [1]}, 5, 0)
    with pytest.raises(ConfigError, match="train.tziolas.bags must be at least 1"):
        clay.bagged_forest(np.zeros((4, 2)), np.zeros(4), [], np.arange(2), {}, 0, (0,))
    sdata = soc.soc_data(windows_dataset(), ["elevation", "slope"])
    fold = soc.Fold(0, 0, empty, empty, np.arange(5))
    with pytest.raises(ValueError, match="empty training set in fold 0 of repeat 0"):
        soc.fold_cnn_lstm(sdata, "static", fold, soc.CnnLstmSettings(epochs=1), 0)
    with pytest.raises(ValueError, match="empty training set in fold 0 of repeat 0"):
        soc.fold_forest(sdata, "static", fold, {"n_estimators": 2, "min_samples_leaf": 1}, 0, 1)


def test_unknown_variant_or_group_fails_with_the_key(data, split):
    calibration, test, members = split
    with pytest.raises(ConfigError, match="train.tziolas.variants: unknown \\['no_radar'\\]"):
        clay.run_cnn(data, calibration, test, members, SMALL, 0, ["no_radar"])
    with pytest.raises(ConfigError, match="train.tziolas.ann.variants: unknown \\['default'\\]"):
        clay.run_ann(data, calibration, test, members, SMALL, 0, ["default"])
    with pytest.raises(ConfigError, match="train.tziolas.random_forest.variants: unknown \\['mean'\\]"):
        clay.run_forest(data, calibration, test, members, {}, 3, 0, variants=["mean"])
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
