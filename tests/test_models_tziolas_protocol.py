"""The Tziolas et al. (2020) protocol: Kennard-Stone split, the same bags for every algorithm, bagged networks."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import schema_section
from soilsat.errors import ConfigError
from soilsat.evaluate.metrics import metrics_table
from soilsat.models.scaling import to_unit_range
from soilsat.models.splits import bags
from soilsat.models.tziolas import forest, protocol, samples
from soilsat.models.tziolas.networks import Ann, MultiInputCnn, NetworkSettings
from synthetic import samples_dataset, with_series

SMALL = dataclasses.replace(NetworkSettings.from_config(schema_section("train.tziolas")), epochs=2)
VV = 10  # channel index of VV after the ten Sentinel-2 bands


@pytest.fixture
def data():
    return samples.clay_data(samples_dataset(), observations=8)


@pytest.fixture
def split(data):
    calibration, test = protocol.calibration_split(data, 0.8)
    return calibration, test, bags(calibration, 2, 0.8, seed=0)


def test_kennard_stone_split_is_80_20_and_disjoint(data):
    calibration, test = protocol.calibration_split(data, 0.8)
    assert (len(calibration), len(test)) == (24, 6)
    assert not set(calibration) & set(test)
    assert sorted([*calibration, *test]) == list(range(30))


def test_bags_are_80_percent_without_replacement_and_never_hold_a_test_sample(data):
    calibration, test = protocol.calibration_split(data, 0.8)
    for bag in bags(calibration, 5, 0.8, seed=3):
        assert len(bag) == round(0.8 * 24) == len(set(bag))
        assert set(bag) <= set(calibration)
        assert not set(bag) & set(test)


def test_cnn_trains_on_bags_only_with_fewer_channels_in_the_ablations(data, split, monkeypatch):
    calibration, test, members = split
    seen = []
    real = protocol.train_model

    def spy(model, inputs, coords, target, settings, seed, progress=None):
        coords_shape = None if coords is None else tuple(coords.shape)
        seen.append((tuple(inputs.shape), coords_shape, model.coordinates is not None))
        return real(model, inputs, coords, target, settings, seed, progress)

    monkeypatch.setattr(protocol, "train_model", spy)
    predictions, activations = protocol.run_cnn(data, calibration, test, members, SMALL, 1, list(samples.CNN_VARIANTS))
    # 2 bags x 4 variants; each bag 80 % of the 24 calibration samples; value + mask planes of 12 or 10 channels.
    assert [s[0] for s in seen] == [(19, 2, 12, 8)] * 4 + [(19, 2, 10, 8)] * 4
    assert [s[1] for s in seen] == [(19, 2)] * 2 + [None] * 2 + [(19, 2)] * 2 + [None] * 2
    assert [s[2] for s in seen] == [True, True, False, False, True, True, False, False]
    assert list(predictions.groupby("variant", sort=False).size().items()) == [
        ("default", 6),
        ("without_coordinates", 6),
        ("without_SAR", 6),
        ("without_SAR_and_coordinates", 6),
    ]
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
    real_train, real_forest = protocol.train_model, forest.fit_forest

    def train_spy(model, inputs, coords, target, settings, seed, progress=None):
        targets["network"].append(target.numpy())
        return real_train(model, inputs, coords, target, settings, seed, progress)

    def forest_spy(x, y, params, seed, threads=1):
        targets["forest"].append(y)
        return real_forest(x, y, params, seed, threads)

    monkeypatch.setattr(protocol, "train_model", train_spy)
    monkeypatch.setattr(forest, "fit_forest", forest_spy)
    protocol.run_cnn(data, calibration, test, members, SMALL, 0, ["default"])
    protocol.run_ann(data, calibration, test, members, SMALL, 0, ["median", "per_date"])
    grid = forest.ForestGrid(
        variants=("median", "per_date"), max_features=(4,), min_samples_leaf=(2,), n_estimators=(5,), cv_folds=3
    )
    forest.run_forest(data, calibration, test, members, grid, 0, 1, grid.variants)
    expected = [to_unit_range(data.target[bag], low, high) for bag in members]
    assert len(targets["network"]) == 3 * len(members) and len(targets["forest"]) == 2 * len(members)
    for got, want in zip(targets["network"], expected * 3):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    for got, bag in zip(targets["forest"], members * 2):
        np.testing.assert_array_equal(got, data.target[bag])


@pytest.mark.parametrize("garbage", [999.0, -1e6, np.nan, "random"])
def test_padding_and_missing_sar_contribute_nothing_whatever_they_hold(garbage):
    data = samples.clay_data(samples_dataset(), observations=16)  # six observations: the second pooled half is padding
    calibration, test = protocol.calibration_split(data, 0.8)
    members = bags(calibration, 2, 0.8, seed=0)
    spectral, coords = samples.cnn_inputs(data, calibration, samples.CNN_VARIANTS["default"])
    per_date = samples.ann_inputs(data, calibration, samples.TABLE_VARIANTS["per_date"])
    y = to_unit_range(data.target, data.target.min(), data.target.max())
    _, cnns = protocol.bagged_networks(
        lambda: MultiInputCnn(12, 16), spectral, coords, y, members, test, SMALL, 0, (0,), "c"
    )
    _, anns = protocol.bagged_networks(
        lambda: Ann(12 * 16 + 2, masked=True), per_date, None, y, members, test, SMALL, 0, (1,), "a"
    )

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
    cnn = {
        name: samples.cnn_inputs(with_series(data, s), calibration, samples.CNN_VARIANTS["default"])
        for name, s in (("missing", missing), ("zero", zero))
    }
    assert cnn["missing"][0][sample, 0, VV, 1] == cnn["zero"][0][sample, 0, VV, 1] == 0.0, "the values alone agree"
    assert (cnn["missing"][0][sample, 1, VV, 1], cnn["zero"][0][sample, 1, VV, 1]) == (0.0, 1.0)
    ann = {
        name: samples.ann_inputs(with_series(data, s), calibration, samples.TABLE_VARIANTS["per_date"])
        for name, s in (("missing", missing), ("zero", zero))
    }
    column = VV * 8 + 1
    assert ann["missing"][sample, 0, column] == ann["zero"][sample, 0, column] == 0.0
    assert (ann["missing"][sample, 1, column], ann["zero"][sample, 1, column]) == (0.0, 1.0)
    y = to_unit_range(data.target, data.target.min(), data.target.max())
    spectral, coords = cnn["missing"]
    _, cnns = protocol.bagged_networks(
        lambda: MultiInputCnn(12, 8), spectral, coords, y, members, test, SMALL, 0, (0,), "c"
    )
    _, anns = protocol.bagged_networks(
        lambda: Ann(98, masked=True), ann["missing"], None, y, members, test, SMALL, 0, (1,), "a"
    )
    with torch.no_grad():
        cnn_out = [float(cnns[0](torch.tensor(cnn[k][0][[sample]]), torch.tensor(cnn[k][1][[sample]]))) for k in cnn]
        ann_out = [float(anns[0](torch.tensor(ann[k][[sample]]))) for k in ann]
    assert cnn_out[0] != cnn_out[1] and ann_out[0] != ann_out[1]


def test_tziolas_models_are_deterministic_for_a_seed(data, split):
    calibration, test, members = split

    def cnn(seed: int) -> np.ndarray:
        return protocol.run_cnn(data, calibration, test, members, SMALL, seed, ["default"])[0]["predicted"]

    def ann(seed: int) -> np.ndarray:
        return protocol.run_ann(data, calibration, test, members, SMALL, seed, ["per_date"])["predicted"]

    for run in (cnn, ann):
        np.testing.assert_array_equal(run(4), run(4))
        assert not np.allclose(run(4), run(5))


def test_ann_baseline_predicts_every_test_sample_in_each_variant(data, split):
    calibration, test, members = split
    predictions = protocol.run_ann(
        data, calibration, test, members, SMALL, seed=0, variants=list(samples.TABLE_VARIANTS)
    )
    assert list(predictions.columns) == ["model", "variant", "sample", "region", "observed", "predicted"]
    assert list(predictions.groupby("variant", sort=False).size().items()) == [
        ("median", 6),
        ("median_without_coordinates", 6),
        ("per_date", 6),
    ]
    assert np.isfinite(predictions["predicted"]).all()
    metrics = metrics_table(predictions)
    assert set(metrics["level"]) == {"all", "region"}, "sample tables have no land cover or probe level"


def test_empty_training_set_fails_clearly(data):
    empty = np.array([], dtype=int)
    with pytest.raises(ValueError, match="empty training set"):
        protocol.run_cnn(data, empty, np.arange(6), [empty], SMALL, 0, ["default"])
    with pytest.raises(ValueError, match="empty training set"):
        protocol.run_ann(data, empty, np.arange(6), [empty], SMALL, 0, ["median"])


def test_unknown_variant_fails_with_the_key(data, split):
    calibration, test, members = split
    with pytest.raises(ConfigError, match="train.tziolas.variants: unknown \\['no_radar'\\]"):
        protocol.run_cnn(data, calibration, test, members, SMALL, 0, ["no_radar"])
    with pytest.raises(ConfigError, match="train.tziolas.ann.variants: unknown \\['default'\\]"):
        protocol.run_ann(data, calibration, test, members, SMALL, 0, ["default"])


def test_the_networks_bags_come_out_beside_an_unchanged_mean(data, split):
    calibration, test, members = split
    plain = protocol.run_ann(data, calibration, test, members, SMALL, 0, ["median"])
    bag_predictions: list = []
    predictions = protocol.run_ann(data, calibration, test, members, SMALL, 0, ["median"], bag_predictions)
    assert predictions.equals(plain)
    (table,) = bag_predictions
    assert list(table.columns) == [*predictions.columns, "bag"] and table["bag"].nunique() == len(members)
    mean = table.groupby("sample", sort=False)["predicted"].mean().loc[predictions["sample"]]
    np.testing.assert_allclose(mean.to_numpy(), predictions["predicted"].to_numpy(), rtol=1e-6)
