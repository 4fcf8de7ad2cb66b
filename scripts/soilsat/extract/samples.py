"""The sample dataset of Tziolas (2020): bare-soil Sentinel-2 series with paired Sentinel-1 at each LUCAS point, the
region route's point values read from the region rasters (the pairing itself is soilsat.extract.pairing's)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cf_netcdf import DECIBEL
from soilsat.extract.cf import add_provenance
from soilsat.extract.pairing import (
    OPTICAL_COLUMNS,
    RADAR_COLUMNS,
    S2_BANDS,
    closest_positions,
    pair_observations,
    usable_rows,
)
from soilsat.extract.rasters import backscatter_bands_of, values_at

log = logging.getLogger(__name__)


def region_optical_values(samples: pd.DataFrame, optical: pd.DataFrame) -> pd.DataFrame:
    """The clear bare-soil rows (OPTICAL_COLUMNS) of every region raster of the optical index at its region's
    samples (their row and col in the region grid)."""
    frames = []
    for region, points in samples.groupby("region"):
        rows, cols = points["row"].to_numpy(), points["col"].to_numpy()
        for _, product in optical[optical["region"] == region].sort_values("time").iterrows():
            values = values_at(product["path"], [*S2_BANDS, "bare", "valid"], rows, cols)
            frame = pd.DataFrame(values, columns=[*S2_BANDS, "bare", "valid"])
            frame.insert(0, "point_id", points["point_id"].astype(str).to_numpy())
            frame.insert(1, "time", product["time"])
            frame.insert(2, "product", str(product["product"]) if "product" in product else str(product["path"]))
            frames.append(usable_rows(frame))
    if not frames:
        return pd.DataFrame(columns=list(OPTICAL_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def region_radar_values(
    samples: pd.DataFrame, radar: pd.DataFrame, optical: pd.DataFrame, pair_days: float
) -> pd.DataFrame:
    """The linear VV/VH rows (RADAR_COLUMNS) at each region's samples of the region rasters closest in time to the
    region's optical observations (only those rasters are read)."""
    frames = []
    for region, points in samples.groupby("region"):
        s1 = radar[radar["region"] == region].sort_values("time", kind="mergesort").reset_index(drop=True)
        times = optical.loc[optical["point_id"].isin(points["point_id"].astype(str)), "time"].unique()
        wanted = sorted(set(closest_positions(s1["time"].to_numpy(), np.sort(times), pair_days)) - {-1})
        rows, cols = points["row"].to_numpy(), points["col"].to_numpy()
        for position in wanted:
            path = s1.loc[position, "path"]
            sar = values_at(path, backscatter_bands_of(path, ("VV", "VH")), rows, cols)
            frame = pd.DataFrame({"VV": sar[:, 0], "VH": sar[:, 1]})
            frame.insert(0, "point_id", points["point_id"].astype(str).to_numpy())
            frame.insert(1, "time", s1.loc[position, "time"])
            frame.insert(2, "product", str(s1.loc[position, "product"]))
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=list(RADAR_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def bare_soil_observations(
    samples: pd.DataFrame, optical: pd.DataFrame, radar: pd.DataFrame, pair_days: float, outlier_sd: float
) -> pd.DataFrame:
    """Every bare-soil Sentinel-2 observation of each sample with its 10 bands and the closest Sentinel-1 VV/VH, from
    the region rasters of the optical and radar indexes (see pair_observations)."""
    values = region_optical_values(samples, optical)
    backscatter = region_radar_values(samples, radar, values, pair_days)
    return pair_observations(samples["point_id"].astype(str).tolist(), values, backscatter, pair_days, outlier_sd)


TARGETS = {
    "clay": ("percent", "LUCAS topsoil clay content"),
    "silt": ("percent", "LUCAS topsoil silt content"),
    "sand": ("percent", "LUCAS topsoil sand content"),
    "oc": ("g kg-1", "LUCAS topsoil organic carbon"),
}


def sample_dataset(
    samples: pd.DataFrame,
    observations: pd.DataFrame,
    config_hash: str = "",
    products: Mapping[str, Sequence[str]] | None = None,
) -> xr.Dataset:
    """The sample x observation dataset (observations padded with missing values) with targets per sample."""
    kept = samples[samples["point_id"].isin(observations["point_id"])].set_index("point_id")
    observations = observations.assign(observation=observations.groupby("point_id").cumcount())
    if "s1_time" not in observations:
        observations["s1_time"] = pd.NaT
    wide = observations.set_index(["point_id", "observation"])
    variables = [*S2_BANDS, "VV", "VH", "time", "s1_time"]
    dataset = xr.Dataset.from_dataframe(wide[variables]).rename(point_id="sample")
    dataset = dataset.reindex(sample=kept.index.to_numpy())
    dataset["s1_time"] = dataset["s1_time"].astype("datetime64[ns]")
    for name in TARGETS:
        dataset[name] = ("sample", kept[name].to_numpy(dtype=float))
    for name in ("lat", "lon", "region", "row", "col"):
        dataset.coords[name] = ("sample", kept[name].to_numpy())
    for name in S2_BANDS:
        dataset[name].attrs.update(units="1", long_name=f"Sentinel-2 L2A surface reflectance {name} on a bare-soil day")
    for pol in ("VV", "VH"):
        dataset[pol].attrs.update(
            units=DECIBEL,
            long_name=f"Sentinel-1 sigma0 {pol} in decibels (10 log10 of the "
            "linear value) of the acquisition closest in time",
        )
    dataset["time"].attrs["long_name"] = "Sentinel-2 sensing time of the observation"
    dataset["s1_time"].attrs["long_name"] = "Sentinel-1 sensing start of the paired acquisition"
    for name, (units, long_name) in TARGETS.items():
        dataset[name].attrs.update(units=units, long_name=long_name)
    dataset.coords["lat"].attrs.update(units="degrees_north", long_name="latitude")
    dataset.coords["lon"].attrs.update(units="degrees_east", long_name="longitude")
    dataset.attrs.update(title="soilsat bare-soil sample series (Tziolas 2020)", comment=COPERNICUS_ATTRIBUTION)
    add_provenance(dataset, config_hash, products or {})
    log.info(
        "sample dataset: %d samples, up to %d bare-soil observations each, %d observations in all",
        dataset.sizes["sample"],
        dataset.sizes["observation"],
        len(observations),
    )
    return dataset


def sample_table(dataset: xr.Dataset) -> pd.DataFrame:
    """The sample dataset for people: one row per bare-soil observation, padding dropped, targets repeated."""
    table = dataset.to_dataframe().reset_index()
    return table[table["time"].notna()].reset_index(drop=True)
