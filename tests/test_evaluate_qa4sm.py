"""The QA4SM export: the layout QA4SM takes for user data, CF compliance, and a lossless round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from compliance import cf_failures
from soilsat.evaluate.qa4sm import MAX_NAME, qa4sm_stack, read_qa4sm, variable_name, write_qa4sm


@pytest.fixture
def predictions() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two models at three probes over ten days, one with gaps."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-04-01", periods=10, freq="D")
    rows = [
        {"model": model, "probe": probe, "time": day, "predicted": float(rng.uniform(0.05, 0.45))}
        for model in ("lstm_minimum", "random_forest_full")
        for probe in ("skjern-01", "skjern-02", "duero-01")
        for day in days
        if not (model == "random_forest_full" and day.day % 3)
    ]
    sites = pd.DataFrame(
        {"probe": ["skjern-01", "skjern-02", "duero-01"], "lat": [55.9, 55.95, 41.3], "lon": [8.9, 8.95, -5.35]}
    )
    return pd.DataFrame(rows), sites


def test_the_stack_has_qa4sms_layout(predictions):
    table, sites = predictions
    stack = qa4sm_stack(table, sites, {"lstm_minimum": "soilsat LSTM"}, {"title": "t"})
    for name, variable in stack.data_vars.items():
        assert variable.dims == ("time", "y", "x") and variable.dtype == np.float32
        assert len(str(name)) <= MAX_NAME and str(name).replace("_", "").isalnum()
        assert variable.attrs["units"] == "m3 m-3" and len(variable.attrs["long_name"]) <= MAX_NAME
    assert stack["lat"].dims == ("y", "x") and stack["lat"].attrs["units"] == "degrees_north"
    assert stack["lon"].attrs["units"] == "degrees_east"
    assert (pd.DatetimeIndex(stack["time"].values).hour == 12).all()  # daily values at noon
    assert variable_name("random forest/full") == "ssm_random_forest_full"


def test_the_file_round_trips_and_is_cf(predictions, tmp_path):
    table, sites = predictions
    path = tmp_path / "soilsat.nc"
    write_qa4sm(qa4sm_stack(table, sites, {}, {"title": "soilsat predictions"}), path)
    with xr.open_dataset(path) as opened:  # as QA4SM opens it
        assert opened["time"].encoding["units"].startswith("days since")
        assert set(opened.data_vars) == {"ssm_lstm_minimum", "ssm_random_forest_full"}
    back = read_qa4sm(path)
    expected = table.assign(variable=table["model"].map(variable_name))
    merged = expected.merge(back, on=["variable", "probe", "time"], how="outer", suffixes=("", "_read"))
    assert len(merged) == len(table) and merged["predicted_read"].notna().all()
    assert np.allclose(merged["predicted"], merged["predicted_read"], rtol=1e-6)
    coords = back.drop_duplicates("probe").set_index("probe").loc[sites["probe"], ["lat", "lon"]]
    assert np.allclose(coords.to_numpy(), sites[["lat", "lon"]].to_numpy())
    # QA4SM's stacks put time first; CF would rather see the probe dimensions (no spatial axes) left of it
    assert [f for f in cf_failures(path) if not f.startswith("§2.4 Dimensions")] == []
