"""The Zhang et al. (2022) protocol: covariate groups, standardisation on training samples, repeated k-fold CV."""

import dataclasses
from collections.abc import Sequence

import numpy as np
import pytest
import torch

from conftest import schema_section
from soilsat.errors import ConfigError
from soilsat.evaluate.metrics import metrics_table
from soilsat.models.forest import ForestSettings
from soilsat.models.splits import Fold
from soilsat.models.zhang import protocol as zhang
from soilsat.models.zhang.network import CnnLstmSettings
from synthetic import windows_dataset

NETWORK = CnnLstmSettings.from_config(schema_section("train.zhang"))
FOREST = ForestSettings.from_config(schema_section("train.zhang.random_forest"))


def protocol_settings(
    groups: Sequence[str], folds: int, repeats: int, folds_by: str = "random", block_m: float = 500.0
) -> zhang.ProtocolSettings:
    """The protocol of some covariate groups (the static covariates are the dataset's own, chosen by soc_data)."""
    return zhang.ProtocolSettings(
        groups=tuple(groups), static_covariates=(), folds=folds, repeats=repeats, folds_by=folds_by, block_m=block_m
    )


def test_zhang_groups_feed_the_lstm_the_right_series():
    """Table 4: the 11 phenology variables per year, the yearly mean EVI, or both (12) beside the static windows."""
    sdata = zhang.soc_data(windows_dataset(years=3), ["temp", "elev", "tri"])
    assert sdata.windows.shape == (25, 3, 5, 5)
    assert zhang.group_series(sdata, "static") is None
    assert zhang.group_series(sdata, "static_phenology").shape == (25, 3, 11)
    assert zhang.group_series(sdata, "static_EVI").shape == (25, 3, 1)
    assert zhang.group_series(sdata, "static_phenology_EVI").shape == (25, 3, 12)
    assert zhang.forest_features(sdata, "static_phenology_EVI").shape == (25, 3 + 3 * 12)


def test_block_folds_test_every_block_whole_once_per_repeat():
    sdata = zhang.soc_data(windows_dataset(n=60), ["elev"])
    folds = zhang.cross_validation(sdata, protocol_settings(["static"], 5, 2, folds_by="block", block_m=500.0), 3)
    blocks = zhang.spatial_blocks(sdata, 500.0)
    assert len(set(blocks)) >= 5
    for repeat in (0, 1):
        tested = np.concatenate([f.test for f in folds if f.repeat == repeat])
        assert sorted(tested) == list(range(60))
        for fold in (f for f in folds if f.repeat == repeat):
            assert not set(blocks[fold.test]) & set(blocks[fold.train])
    # the folds are balanced to within the largest block
    sizes = [len(f.test) for f in folds if f.repeat == 0]
    assert max(sizes) - min(sizes) <= np.unique(blocks, return_counts=True)[1].max()
    with pytest.raises(ConfigError, match="needs at least 5 groups"):
        zhang.cross_validation(sdata, protocol_settings(["static"], 5, 1, folds_by="block", block_m=1e6), 3)


def test_standardise_uses_training_samples_only():
    values = np.arange(24, dtype=float).reshape(6, 2, 2)
    train = np.array([0, 1, 2, 3])
    first = zhang.standardise(values, train, (0, 2))
    changed = values.copy()
    changed[5] = 1e6
    second = zhang.standardise(changed, train, (0, 2))
    np.testing.assert_array_equal(first[train], second[train])
    np.testing.assert_allclose(first[train].mean(axis=(0, 2)), 0, atol=1e-6)


@pytest.mark.parametrize("model", ["rf", "cnn_lstm"])
def test_zhang_protocol_predicts_each_sample_once_per_repeat(model):
    sdata = zhang.soc_data(windows_dataset(), ["elev", "slp"])
    settings = dataclasses.replace(NETWORK, epochs=1, batch_size=8, units=4, layers=1)
    groups = ["static", "static_phenology_EVI"]
    predictions = zhang.run_protocol(
        sdata,
        model,
        protocol_settings(groups, folds=5, repeats=2),
        settings,
        ForestSettings(n_estimators=5, min_samples_leaf=1),
        seed=0,
        threads=1,
    )
    single = predictions[predictions["repeat"] != "mean"]
    assert single.groupby(["variant", "repeat"])["sample"].agg(lambda s: sorted(s) == sorted(sdata.samples)).all()
    assert (predictions["repeat"] == "mean").sum() == 2 * 25
    assert np.isfinite(predictions["predicted"]).all()
    metrics = metrics_table(predictions)
    repeats = metrics[metrics["level"] == "repeat"]
    assert list(repeats.groupby("variant").size()) == [2, 2]
    assert np.isfinite(repeats["rmse"]).all()


def test_zhang_cnn_lstm_is_deterministic_for_a_seed():
    sdata = zhang.soc_data(windows_dataset(), ["elev"])
    settings = dataclasses.replace(NETWORK, epochs=2, batch_size=8, units=4, layers=1)
    protocol = protocol_settings(["static_EVI"], folds=5, repeats=1)

    def run(seed: int) -> np.ndarray:
        return zhang.run_protocol(sdata, "cnn_lstm", protocol, settings, FOREST, seed, 1)["predicted"].to_numpy()

    torch.use_deterministic_algorithms(True)
    np.testing.assert_array_equal(run(1), run(1))
    assert not np.allclose(run(1), run(2))


def test_empty_training_set_fails_clearly():
    empty = np.array([], dtype=int)
    sdata = zhang.soc_data(windows_dataset(), ["elev", "slp"])
    fold = Fold(0, 0, empty, empty, np.arange(5))
    with pytest.raises(ValueError, match="empty training set in fold 0 of repeat 0"):
        zhang.fold_cnn_lstm(sdata, "static", fold, dataclasses.replace(NETWORK, epochs=1), 0)
    with pytest.raises(ValueError, match="empty training set in fold 0 of repeat 0"):
        zhang.fold_forest(sdata, "static", fold, ForestSettings(n_estimators=2, min_samples_leaf=1), 0, 1)


def test_unknown_group_or_covariate_fails_with_the_key():
    sdata = zhang.soc_data(windows_dataset(), ["elev"])
    with pytest.raises(ConfigError, match="train.zhang.groups: unknown group 'climate'"):
        zhang.run_protocol(sdata, "rf", protocol_settings(["climate"], folds=5, repeats=1), NETWORK, FOREST, 0, 1)
    with pytest.raises(ConfigError, match="train.zhang.static_covariates: \\['rainfall'\\] not in windows.nc"):
        zhang.soc_data(windows_dataset(), ["elev", "rainfall"])
