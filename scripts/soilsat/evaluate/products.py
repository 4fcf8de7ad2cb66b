"""Soil-moisture products scored like the models: their values at the probes as tidy predictions."""

from __future__ import annotations

import pandas as pd
import xarray as xr

PREDICTION_COLUMNS = ["model", "variant", "repeat", "probe", "time", "region", "landcover", "observed", "predicted"]


def probe_points(dataset: xr.Dataset) -> pd.DataFrame:
    """Probe, lat, lon and the probe's topsoil sand and clay (%) of a probe dataset."""
    return pd.DataFrame(
        {
            "probe": dataset["probe"].values.astype(str),
            "lat": dataset["lat"].values,
            "lon": dataset["lon"].values,
            "sand": dataset["sand"].values,
            "clay": dataset["clay"].values,
        }
    )


def product_predictions(dataset: xr.Dataset, samples: pd.DataFrame, product: str) -> pd.DataFrame:
    """A product's values at the probes (probe, time, value) beside the observed soil moisture, on probe-days."""
    observed = dataset[["ssm", "landcover"]].to_dataframe().reset_index()
    observed["region"] = dataset["region"].to_series().reindex(observed["probe"]).to_numpy()
    table = observed.merge(
        samples[["probe", "time", "value"]].assign(time=lambda t: pd.to_datetime(t["time"])),
        on=["probe", "time"],
        how="inner",
    )
    table = table.rename(columns={"ssm": "observed", "value": "predicted"})
    table["landcover"] = table["landcover"].astype(int)
    return table.assign(model=product, variant="default", repeat="mean")[PREDICTION_COLUMNS]
