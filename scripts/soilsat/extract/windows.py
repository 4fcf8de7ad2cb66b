"""The window dataset of Zhang (2022): climate and terrain windows and the yearly phenology series at each sample.

Each sample lies in one pixel of its region's covariate grid (soilsat.extract.covariates, 90 m in the paper);
its window is the extract.windows.size x size pixels of the static covariates centred there (5 x 5 at 90 m,
450 m, "consistent with the 500 m of the phenological variables", section 3.1.1), its series the yearly
phenology variables and mean EVI of that pixel (Table 1: 11 + 1 per year).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.extract.cf import add_provenance
from soilsat.extract.covariates import METRICS, STATIC
from soilsat.extract.samples import TARGETS
from soilsat.grid import StudyGrid
from soilsat.settings import Settings


@dataclass(frozen=True)
class WindowSettings(Settings):
    """The covariate grid, windows and phenology series (config section extract.windows)."""

    size: int
    resolution_m: float
    phenology: str
    years: int
    last_year: int | None


def with_grid_xy(samples: pd.DataFrame, grids: Mapping[str, StudyGrid]) -> pd.DataFrame:
    """The located samples with their x and y on their region's grid (metres, its UTM zone)."""
    out = samples.copy()
    out["x"], out["y"] = np.nan, np.nan
    for region, group in samples.groupby("region"):
        x, y = grids[str(region)].to_grid_crs(group["lon"].to_numpy(), group["lat"].to_numpy())
        out.loc[group.index, "x"], out.loc[group.index, "y"] = x, y
    return out


def covariate_windows(covariates: Mapping[str, xr.Dataset], samples: pd.DataFrame, size: int) -> xr.DataArray:
    """Static covariates as size x size windows centred on each sample's pixel, (sample, covariate, wy, wx)
    (NaN beyond the grid)."""
    if size % 2 == 0 or size < 1:
        raise ValueError(f"window size must be an odd positive number, got {size}")
    half = size // 2
    out = np.full((len(samples), len(STATIC), size, size), np.nan, dtype=np.float32)
    for region, group in samples.groupby("region"):
        data = covariates[str(region)]["static"].sel(covariate=list(STATIC)).values.astype(np.float32)
        padded = np.pad(data, ((0, 0), (half, half), (half, half)), constant_values=np.nan)
        positions = group.index.to_numpy()
        for i, r, c in zip(positions, group["row"], group["col"]):
            out[i] = padded[:, r : r + size, c : c + size]
    return xr.DataArray(
        out,
        dims=("sample", "covariate", "wy", "wx"),
        coords={"sample": samples["point_id"].to_numpy(), "covariate": list(STATIC)},
    )


def sample_series(covariates: Mapping[str, xr.Dataset], samples: pd.DataFrame, years: Sequence[int]) -> xr.DataArray:
    """The yearly phenology and mean EVI at each sample's pixel, (sample, year, metric)."""
    out = np.full((len(samples), len(years), len(METRICS)), np.nan, dtype=np.float32)
    for region, group in samples.groupby("region"):
        data = covariates[str(region)]["phenology"].sel(year=list(years), metric=list(METRICS)).values
        positions = group.index.to_numpy()
        out[positions] = np.moveaxis(data[:, :, group["row"].to_numpy(), group["col"].to_numpy()], 2, 0)
    return xr.DataArray(
        out,
        dims=("sample", "year", "metric"),
        coords={"sample": samples["point_id"].to_numpy(), "year": list(years), "metric": list(METRICS)},
    )


def window_dataset(
    samples: pd.DataFrame,
    windows: xr.DataArray,
    yearly: xr.DataArray,
    config_hash: str = "",
    products: Mapping[str, Sequence[str]] | None = None,
) -> xr.Dataset:
    """The Zhang 2022 dataset: covariate windows, yearly phenology series and the targets per sample."""
    dataset = xr.Dataset({"windows": windows, "phenology": yearly})
    for name in TARGETS:
        dataset[name] = ("sample", samples[name].to_numpy(dtype=float))
        dataset[name].attrs.update(units=TARGETS[name][0], long_name=TARGETS[name][1])
    for name in ("lat", "lon", "region", "x", "y"):
        dataset.coords[name if name in ("lat", "lon", "region") else f"sample_{name}"] = (
            "sample",
            samples[name].to_numpy(),
        )
    dataset.coords["lat"].attrs.update(units="degrees_north", long_name="latitude")
    dataset.coords["lon"].attrs.update(units="degrees_east", long_name="longitude")
    for axis in ("x", "y"):
        dataset.coords[f"sample_{axis}"].attrs.update(units="m", long_name=f"{axis} of the sample on its region's grid")
    dataset["windows"].attrs.update(
        units="1",
        long_name="climate and terrain covariates in a window centred on the sample's covariate pixel",
        comment="each covariate in its own units (see the covariates datasets)",
    )
    dataset["phenology"].attrs.update(
        units="1",
        long_name="yearly phenology (MCD12Q2 cycle 1 definitions) and mean EVI at the sample's covariate pixel",
        comment="dates as day of the year; num-cycles a count; evi-* in EVI (evi-area: EVI x days)",
    )
    dataset.attrs.update(title="soilsat covariate windows and phenology (Zhang 2022)")
    return add_provenance(dataset, config_hash, products or {})


def window_table(dataset: xr.Dataset) -> pd.DataFrame:
    """The window dataset for people: one row per sample and year, centre-pixel covariates and phenology."""
    centre = dataset["windows"].isel(wy=dataset.sizes["wy"] // 2, wx=dataset.sizes["wx"] // 2)
    covariates = centre.to_pandas().add_prefix("static_")
    phenology = (
        dataset["phenology"]
        .to_dataframe()
        .reset_index()
        .pivot_table(index=["sample", "year"], columns="metric", values="phenology", dropna=False)
        .reset_index()
    )
    targets = dataset[["oc", "clay", "silt", "sand"]].to_dataframe()
    return phenology.merge(covariates, left_on="sample", right_index=True).merge(
        targets, left_on="sample", right_index=True
    )
