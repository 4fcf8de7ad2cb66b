"""The in-situ dataset: daily soil moisture and soil temperature of each probe site on the study grids.

It is all the probe studies share: the Simonsen (2021) probe dataset adds covariates to it, the
Tsagkatakis (2021) fusion reads the probe values inside its patches.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.extract.cf import add_provenance
from soilsat.extract.probes import locate_probes
from soilsat.grid import StudyGrid

VARIABLES = {
    "ssm": ("m3 m-3", "surface soil moisture 0-5 cm, daily mean of good-quality probe values, frozen days removed"),
    "ts_max": ("degC", "daily maximum soil temperature at the probe"),
}


def insitu_dataset(
    sites: pd.DataFrame, daily: pd.DataFrame, grids: Mapping[str, StudyGrid], start: str, end: str, config_hash: str
) -> xr.Dataset:
    """Probe x day ssm and ts_max of the sites inside the study grids, with region, row, col, lat and lon."""
    pixels = locate_probes(sites, grids)
    days = pd.date_range(start, end, freq="D", name="time")
    index = pd.MultiIndex.from_product([pixels["probe"], days], names=["probe", "time"])
    table = pd.DataFrame(index=index).join(daily.set_index(["probe", "time"])[["ssm", "ts_max"]])
    dataset = xr.Dataset.from_dataframe(table)
    located = pixels.set_index("probe").loc[dataset["probe"].values]
    for name in ("region", "lat", "lon", "row", "col"):
        dataset.coords[name] = ("probe", located[name].to_numpy())
    for name, (units, long_name) in VARIABLES.items():
        dataset[name].attrs.update(units=units, long_name=long_name)
    dataset.attrs.update(title="soilsat in-situ dataset")
    return add_provenance(dataset, config_hash, {})


def insitu_tables(dataset: xr.Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sites (probe, lat, lon) and daily values (probe, time, ssm, ts_max) of an in-situ dataset."""
    sites = pd.DataFrame(
        {"probe": dataset["probe"].values.astype(str), "lat": dataset["lat"].values, "lon": dataset["lon"].values}
    )
    daily = dataset[["ssm", "ts_max"]].to_dataframe().reset_index()[["probe", "time", "ssm", "ts_max"]]
    daily = daily[np.isfinite(daily["ssm"]) | np.isfinite(daily["ts_max"])]
    return sites, daily.reset_index(drop=True)
