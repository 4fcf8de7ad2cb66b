"""Leave-one-probe-out protocols on a small synthetic probe dataset: LSTM and baselines."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from soilsat.errors import ConfigError
from soilsat.models import baselines, sequences, simonsen
from soilsat.models.lstm import LstmSettings
from soilsat.models.splits import leave_one_probe_out

SMALL = LstmSettings(units=4, epochs=2, repeats=2, step_size=5)
THESIS = {"polarisations": ["VV"], "sigma0_scale": "linear", "incidence_angle": False}  # Table A2
BOTH = {"polarisations": ["VV", "VH"], "sigma0_scale": "db", "incidence_angle": True}
DYNAMIC = ("ts_max", "sigma0_vv", "ndvi", "ndwi", "precipitation", "dry_days", "tmin", "tmean", "tmax")
BASELINES = {"climatology": {"window_days": 0}, "change_detection": {"low_percentile": 10, "high_percentile": 90}}


def probe_dataset(n_probes: int = 5, n_days: int = 40, seed: int = 0) -> xr.Dataset:
    """A probe dataset with the extract stage's variables: soil moisture follows rain, sigma0 follows moisture."""
    rng = np.random.default_rng(seed)
    time = pd.date_range("2020-01-01", periods=n_days, freq="D")
    rain = rng.gamma(0.5, 4.0, (n_probes, n_days))
    ssm = 0.1 + 0.3 * (pd.DataFrame(rain.T).ewm(halflife=5).mean().to_numpy().T / 5.0).clip(0, 1)
    data = {"ssm": ssm.copy(), "precipitation": rain}
    data["ssm"][:, ::7] = np.nan
    vv = -15 + 20 * ssm + rng.normal(0, 0.5, ssm.shape)
    vv[:, 1::3] = np.nan
    data["sigma0_vv_db"] = vv
    data["sigma0_vh_db"] = vv - 6
    data["sigma0_vv"] = 10 ** (vv / 10)
    data["sigma0_vh"] = 10 ** ((vv - 6) / 10)
    data["incidence_angle"] = np.where(np.isnan(vv), np.nan, 38.0)
    for name in ("ndvi", "ndwi", "dry_days", "tmin", "tmean", "tmax", "ts_max"):
        data[name] = rng.normal(size=ssm.shape)
    ds = xr.Dataset({k: (("probe", "time"), v.astype("float32")) for k, v in data.items()},
                    coords={"probe": [f"p{i}" for i in range(n_probes)], "time": time})
    for name in ("elevation", "slope", "aspect_x", "aspect_y", "base_saturation", "clay", "silt", "sand",
                 "organic_carbon"):
        ds[name] = ("probe", rng.normal(size=n_probes))
    ds["landcover"] = ("probe", np.array([211, 212, 311, 211, 231, 211, 211][:n_probes]))
    for code in sorted(set(ds["landcover"].values.tolist())):
        ds[f"landcover_{code}"] = ("probe", (ds["landcover"].values == code).astype(np.int8))
    ds.coords["region"] = ("probe", np.array(["a", "b"] * n_probes)[:n_probes])
    return ds


def test_leave_one_probe_out_never_shares_a_probe():
    folds = leave_one_probe_out(7, 3, 0.2, seed=1)
    assert len(folds) == 21
    for fold in folds:
        parts = [set(fold.train), set(fold.validation), set(fold.test)]
        assert sum(map(len, parts)) == 7 and len(set.union(*parts)) == 7
        assert fold.test[0] not in fold.train and len(fold.validation) == 1
    for repeat in range(3):
        assert sorted(f.test[0] for f in folds if f.repeat == repeat) == list(range(7))
    assert len({tuple(f.validation) for f in folds if f.fold == 0}) > 1  # validation probes drawn per repeat


def test_lstm_protocol_predicts_every_probe_day_per_repeat_and_mean():
    ds = probe_dataset()
    out = simonsen.run_lstm(ds, "full", THESIS, SMALL, seed=3)
    assert list(out.columns) == ["model", "variant", "repeat", "probe", "time", "region", "landcover",
                                 "observed", "predicted"]
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
    first = metrics_table(simonsen.run_lstm(ds, "minimum", THESIS, SMALL, seed=5))
    again = metrics_table(simonsen.run_lstm(ds, "minimum", THESIS, SMALL, seed=5))
    other = metrics_table(simonsen.run_lstm(ds, "minimum", THESIS, SMALL, seed=6))
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["mae"], other["mae"])


def test_variants_read_the_inputs_of_table_a2():
    ds = probe_dataset(7)
    seq = sequences.from_dataset(ds, "agriculture", THESIS)
    assert list(seq.probes) == ["p0", "p1", "p3", "p5", "p6"]
    assert seq.features == DYNAMIC
    onehot = ("landcover_211", "landcover_212", "landcover_231", "landcover_311")
    assert sequences.from_dataset(ds, "minimum", THESIS).features == DYNAMIC + onehot
    full = sequences.from_dataset(ds, "full", THESIS)
    assert full.features == DYNAMIC + ("elevation", "slope", "aspect_x", "aspect_y") + onehot + (
        "base_saturation", "clay", "silt", "sand", "organic_carbon")
    # land cover is nominal: each probe has exactly one class set
    columns = [full.features.index(name) for name in onehot]
    np.testing.assert_array_equal(full.inputs[:, 0, columns].sum(axis=1), 1)
    assert sequences.from_dataset(ds, "agriculture", BOTH).features == (
        "ts_max", "sigma0_vv_db", "sigma0_vh_db", "incidence_angle", *DYNAMIC[2:])
    with pytest.raises(ConfigError, match=r"lacks the model inputs \['sigma0_vh'\]"):
        sequences.from_dataset(ds.drop_vars("sigma0_vh"), "minimum", BOTH | {"sigma0_scale": "linear"})


def test_missing_inputs_get_an_observed_channel():
    seq = sequences.from_dataset(probe_dataset(), "minimum", BOTH)
    observed = seq.observed
    assert observed.shape == (5, 40, 3)  # sigma0 vv, vh and incidence angle have gaps
    assert observed[:, 1::3].sum() == 0 and observed[:, ::3].min() == 1
    assert sequences.from_dataset(probe_dataset(), "minimum", THESIS).observed.shape == (5, 40, 1)


def test_clear_errors():
    ds = probe_dataset()
    with pytest.raises(ConfigError, match="unknown model variant 'forest'"):
        simonsen.run_lstm(ds, "forest", THESIS, SMALL, seed=0)
    with pytest.raises(ConfigError, match="at least 3 probes, the dataset has 2"):
        simonsen.run_lstm(ds.isel(probe=[0, 1]), "full", THESIS, SMALL, seed=0)
    with pytest.raises(ConfigError, match="at least 3 probes, the dataset has 1"):
        simonsen.run_lstm(probe_dataset(5).isel(probe=[0, 2, 4]), "agriculture", THESIS, SMALL, seed=0)
    with pytest.raises(ConfigError, match="leaves no training probe"):
        leave_one_probe_out(3, 1, 0.9, seed=0)
    with pytest.raises(ConfigError, match="unknown baseline"):
        baselines.run_baseline(ds, "persistence", {}, "VV")


def test_climatology_is_the_day_of_year_mean_of_the_other_probes():
    target = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0], [5.0, np.nan, 7.0]])
    doy = np.array([1, 2, 1])
    out = baselines.climatology(target, doy)
    # probe 0: others on doy 1 are 3, 5, 5, 7 -> 5; doy 2: 4
    np.testing.assert_allclose(out[0], [5.0, 4.0, 5.0])
    np.testing.assert_allclose(out[2], [(1 + 3 + 5) / 3, 3.0, 3.0])


def test_change_detection_scales_between_sigma0_percentiles():
    sigma0 = np.tile(np.linspace(-20, -10, 11), (3, 1))
    target = np.tile(np.linspace(0.1, 0.3, 11), (3, 1))
    out = baselines.change_detection(sigma0, target)
    assert out[0, 0] == pytest.approx(0.12) and out[0, -1] == pytest.approx(0.28)
    assert out[0, 5] == pytest.approx(0.2)


def test_baselines_write_tidy_tables():
    ds = probe_dataset()
    for model in ("climatology", "change_detection"):
        out = baselines.run_baseline(ds, model, BASELINES[model], "VV")
        assert len(out) == 200 and set(out["repeat"]) == {"mean"} and set(out["model"]) == {model}
