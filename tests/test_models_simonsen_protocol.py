"""The Simonsen (2021) leave-one-probe-out protocol of the LSTM on a small synthetic probe dataset."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from conftest import schema_section
from network_helpers import thesis_settings
from soilsat.errors import ConfigError
from soilsat.models.simonsen import protocol as simonsen
from soilsat.models.simonsen.inputs import InputSettings
from soilsat.models.splits import leave_one_probe_out
from synthetic import probe_dataset

SMALL = dataclasses.replace(thesis_settings(), units=4, epochs=2, repeats=2, step_size=5)
THESIS = InputSettings.from_config(schema_section("train.inputs"))  # Table A2


def test_lstm_protocol_predicts_every_probe_day_per_repeat_and_mean():
    ds = probe_dataset()
    out = simonsen.run_lstm(ds, "full", THESIS, SMALL, seed=3, device="cpu")
    assert list(out.columns) == [
        "model",
        "variant",
        "repeat",
        "probe",
        "time",
        "region",
        "landcover",
        "observed",
        "predicted",
    ]
    assert sorted(out["repeat"].unique()) == ["0", "1", "mean"]
    for repeat, part in out.groupby("repeat"):
        assert len(part) == 5 * 40 and part[["probe", "time"]].drop_duplicates().shape[0] == 200
    assert np.isfinite(out["predicted"]).all()
    mean = out[out.repeat == "mean"].set_index(["probe", "time"])["predicted"]
    per = out[out.repeat != "mean"].groupby(["probe", "time"])["predicted"].mean()
    np.testing.assert_allclose(mean.sort_index().to_numpy(), per.sort_index().to_numpy(), rtol=1e-6)
    assert out.loc[out.probe == "p2", "landcover"].eq(311).all()


def test_same_seed_same_metrics_other_seed_differs():
    from soilsat.evaluate.metrics import metrics_table

    ds = probe_dataset()
    first = metrics_table(simonsen.run_lstm(ds, "minimum", THESIS, SMALL, seed=5, device="cpu"))
    again = metrics_table(simonsen.run_lstm(ds, "minimum", THESIS, SMALL, seed=5, device="cpu"))
    other = metrics_table(simonsen.run_lstm(ds, "minimum", THESIS, SMALL, seed=6, device="cpu"))
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["mae"], other["mae"])


def test_clear_errors():
    ds = probe_dataset()
    with pytest.raises(ConfigError, match="unknown model variant 'forest'"):
        simonsen.run_lstm(ds, "forest", THESIS, SMALL, seed=0, device="cpu")
    with pytest.raises(ConfigError, match="at least 3 probes, the dataset has 2"):
        simonsen.run_lstm(ds.isel(probe=[0, 1]), "full", THESIS, SMALL, seed=0, device="cpu")
    with pytest.raises(ConfigError, match="at least 3 probes, the dataset has 1"):
        simonsen.run_lstm(probe_dataset(5).isel(probe=[0, 2, 4]), "agriculture", THESIS, SMALL, seed=0, device="cpu")
    with pytest.raises(ConfigError, match="leaves no training probe"):
        leave_one_probe_out(3, 1, 0.9, seed=0)
