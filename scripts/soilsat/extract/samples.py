"""The sample dataset of Tziolas (2020): bare-soil Sentinel-2 series with paired Sentinel-1 at each LUCAS point."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cf_netcdf import DECIBEL
from soilsat.extract.cf import add_provenance
from soilsat.extract.rasters import backscatter_bands_of, values_at
from soilsat.settings import Settings

log = logging.getLogger(__name__)

S2_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")


@dataclass(frozen=True)
class SampleSettings(Settings):
    """How bare-soil observations are paired and cleaned (config section extract.samples)."""

    sentinel1_pair_days: float
    outlier_sd: float


def closest_in_time(times: pd.Series, target: pd.Timestamp, max_days: float) -> int | None:
    """Position of the time closest to `target` within `max_days`, or None."""
    if times.empty:
        return None
    gaps = (times - target).abs()
    best = int(np.argmin(gaps.to_numpy()))
    return best if gaps.iloc[best] <= pd.Timedelta(days=max_days) else None


def drop_outliers(table: pd.DataFrame, columns: Sequence[str], max_sd: float) -> pd.DataFrame:
    """Rows whose every listed value lies within `max_sd` standard deviations of its column mean."""
    values = table[list(columns)]
    z = (values - values.mean()) / values.std(ddof=0)
    keep = ~(z.abs() > max_sd).any(axis=1)
    if (~keep).any():
        log.info("%d observations removed as band outliers beyond %.1f standard deviations", int((~keep).sum()), max_sd)
    return table[keep]


def bare_soil_observations(
    samples: pd.DataFrame, optical: pd.DataFrame, radar: pd.DataFrame, pair_days: float, outlier_sd: float
) -> pd.DataFrame:
    """Every bare-soil Sentinel-2 observation of each sample with its 10 bands and the closest Sentinel-1 VV/VH."""
    frames = []
    for region, points in samples.groupby("region"):
        rows, cols = points["row"].to_numpy(), points["col"].to_numpy()
        s1 = radar[radar["region"] == region].sort_values("time").reset_index(drop=True)
        s1_cache: dict[str, np.ndarray] = {}
        for _, product in optical[optical["region"] == region].sort_values("time").iterrows():
            values = values_at(product["path"], [*S2_BANDS, "bare", "valid"], rows, cols)
            usable = (values[:, -1] == 1) & (values[:, -2] == 1)
            if not usable.any():
                continue
            frame = pd.DataFrame(values[usable, : len(S2_BANDS)], columns=S2_BANDS)
            frame.insert(0, "point_id", points["point_id"].to_numpy()[usable])
            frame.insert(1, "time", product["time"])
            frame["VV"] = np.nan
            frame["VH"] = np.nan
            match = closest_in_time(s1["time"], product["time"], pair_days)
            if match is not None:
                path = s1.loc[match, "path"]
                if path not in s1_cache:
                    s1_cache[path] = values_at(path, backscatter_bands_of(path, ("VV", "VH")), rows, cols)
                sar = s1_cache[path][usable]
                with np.errstate(divide="ignore", invalid="ignore"):
                    frame["VV"] = 10 * np.log10(np.where(sar[:, 0] > 0, sar[:, 0], np.nan))
                    frame["VH"] = 10 * np.log10(np.where(sar[:, 1] > 0, sar[:, 1], np.nan))
                frame["s1_time"] = s1.loc[match, "time"]
            frames.append(frame)
    table = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["point_id", "time", *S2_BANDS, "VV", "VH"])
    )
    table = drop_outliers(table.dropna(subset=list(S2_BANDS)), S2_BANDS, outlier_sd)
    without = sorted(set(samples["point_id"]) - set(table["point_id"]))
    if without:
        log.warning(
            "%d samples without any bare-soil observation, excluded: %s", len(without), ", ".join(map(str, without))
        )
    return table.reset_index(drop=True)


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
