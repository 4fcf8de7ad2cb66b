"""The probe dataset: one row per probe and day with soil moisture and its covariates."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import rasterio
import xarray as xr

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cf_netcdf import DECIBEL
from soilsat.extract.cf import add_provenance
from soilsat.extract.points import locate
from soilsat.extract.rasters import backscatter_bands_of, usable
from soilsat.extract.series import consecutive_dry_days, interpolate_within, sample_rasters, zscore_outliers
from soilsat.extract.static import STATIC_BANDS
from soilsat.grid import StudyGrid
from soilsat.settings import Settings

log = logging.getLogger(__name__)

VARIABLES = {
    "ssm": ("m3 m-3", "surface soil moisture 0-5 cm, daily mean of good-quality probe values"),
    "ts_max": ("degC", "daily maximum soil temperature at the probe"),
    "sigma0_vv": ("1", "Sentinel-1 sigma0 VV (linear) at the probe pixel"),
    "sigma0_vh": ("1", "Sentinel-1 sigma0 VH (linear) at the probe pixel"),
    "sigma0_vv_db": (DECIBEL, "Sentinel-1 sigma0 VV in decibels (10 log10 of the linear value)"),
    "sigma0_vh_db": (DECIBEL, "Sentinel-1 sigma0 VH in decibels (10 log10 of the linear value)"),
    "incidence_angle": ("degree", "Sentinel-1 local incidence angle (DEM surface) at the probe pixel"),
    "ndvi": ("1", "Sentinel-2 NDVI (B8A, B4), interpolated within the window"),
    "ndwi": ("1", "Sentinel-2 NDWI (B8A, B12), interpolated within the window"),
    "precipitation": ("mm", "daily precipitation sum"),
    "dry_days": ("day", "consecutive days with precipitation below 0.1 mm"),
    "tmin": ("degC", "daily minimum air temperature"),
    "tmean": ("degC", "daily mean air temperature"),
    "tmax": ("degC", "daily maximum air temperature"),
    "elevation": ("m", "terrain height"),
    "slope": ("percent", "terrain slope"),
    "aspect_x": ("1", "cosine of the terrain aspect"),
    "aspect_y": ("1", "sine of the terrain aspect"),
    "landcover": ("1", "CORINE Land Cover level-3 code"),
    "clay": ("percent", "topsoil clay content"),
    "silt": ("percent", "topsoil silt content"),
    "sand": ("percent", "topsoil sand content"),
    "organic_carbon": ("g kg-1", "topsoil organic carbon"),
    "base_saturation": ("percent", "topsoil base saturation"),
}


DYNAMIC = (
    "ssm",
    "ts_max",
    "sigma0_vv",
    "sigma0_vh",
    "incidence_angle",
    "ndvi",
    "ndwi",
    "precipitation",
    "dry_days",
    "tmin",
    "tmean",
    "tmax",
)  # those the dataset has get an `observed` row


@dataclass(frozen=True)
class Sigma0Settings(Settings):
    """How sigma0 is taken at each probe (config section extract.sigma0)."""

    statistic: str
    buffer_m: float
    orbits: str
    max_z: float | None
    outlier_population: str
    outlier_scale: str


def probe_days(daily: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sites (probe, lat, lon) and daily site values (probe, time, ssm, ts_max), frozen days removed."""
    daily = daily.drop(columns=["probe"]).rename(columns={"site": "probe", "date": "time", "sm": "ssm"})
    frozen = daily["ts_max"] <= 0.0
    if frozen.any():
        log.info("%d probe-days with soil temperature at or below 0 degC removed as frozen", int(frozen.sum()))
    daily = daily.assign(ssm=daily["ssm"].where(~frozen))
    sites = daily.groupby("probe", as_index=False)[["lat", "lon"]].first()
    return sites, daily[["probe", "time", "ssm", "ts_max"]]


def drop_probes_without_days(table: pd.DataFrame) -> pd.DataFrame:
    """The (probe, time) table without the probes that have no valid soil-moisture day; they are logged."""
    counts = table["ssm"].notna().groupby(level="probe").sum()
    empty = sorted(counts.index[counts == 0])
    if empty:
        log.warning("probes with no valid soil-moisture day, excluded: %s", ", ".join(empty))
    return table.drop(index=empty, level="probe")


def locate_probes(sites: pd.DataFrame, grids: Mapping[str, StudyGrid]) -> pd.DataFrame:
    """Region, row and column of each probe site; sites outside every grid are logged and dropped."""
    return locate(sites, grids, "probe")


def read_tags(path: str | os.PathLike) -> dict[str, str]:
    """Dataset-level tags of a raster."""
    with rasterio.open(path) as src:
        return src.tags()


INCIDENCE_BAND = "local_incidence_angle"  # the Sentinel-1 COG band read into the `incidence_angle` variable


def sigma0_outliers(samples: pd.DataFrame, column: str, max_z: float, population: str, scale: str) -> pd.Series:
    """Linear sigma0 of one column with values beyond `max_z` standard deviations set to missing.

    The z-score is taken over each probe's series, each image's probes, or the whole dataset (`population`),
    on linear sigma0 or on decibels (`scale`)."""
    linear = samples[column].where(samples[column] > 0)
    values = 10 * np.log10(linear) if scale == "db" else linear
    if population == "dataset":
        kept = zscore_outliers(values, max_z)
    else:
        key = {"probe": "probe", "image": "product"}[population]
        kept = values.groupby(samples[key]).transform(lambda s: zscore_outliers(s, max_z))
    removed = int((values.notna() & kept.isna()).sum())
    if removed:
        log.info(
            "%s: %d of %d observations beyond a z-score of %.1f (%s sigma0, per %s) removed",
            column,
            removed,
            int(values.notna().sum()),
            max_z,
            scale,
            population,
        )
    return samples[column].where(kept.notna())


def radar_series(
    index: pd.DataFrame,
    pixels: pd.DataFrame,
    polarisations: Sequence[str] = ("VV", "VH"),
    orbits: str = "merged",
    statistic: str = "pixel",
    radius_px: int = 0,
    max_z: float | None = 2.0,
    outlier_population: str = "probe",
    outlier_scale: str = "db",
) -> pd.DataFrame:
    """Daily sigma0 (linear) of each polarisation and local incidence angle at each probe, outliers removed,
    same-day passes averaged, from the indexed Sentinel-1 rasters.

    `orbits` "merged" keeps both orbit directions; "ascending" or "descending" keeps only that one.
    """
    # the study's radiometry (sentinel1.radiometry) names the bands; the variables keep the names sigma0_vv, ...
    bands = (
        backscatter_bands_of(index["path"].iloc[0], polarisations)
        if len(index)
        else [f"sigma0_{p}" for p in polarisations]
    )
    columns = {b: f"sigma0_{p.lower()}" for b, p in zip(bands, polarisations)} | {INCIDENCE_BAND: "incidence_angle"}
    samples = sample_rasters(index, pixels, list(columns), radius_px, statistic)
    samples = samples.rename(columns=columns)
    if orbits != "merged" and len(samples):
        if "orbit_direction" not in samples:
            samples["orbit_direction"] = np.nan
        untagged = sorted(samples.loc[samples["orbit_direction"].isna(), "product"].astype(str).unique())
        if untagged:
            raise ValueError(
                f"extract.sigma0.orbits is {orbits!r} but these Sentinel-1 rasters lack an "
                f"orbit_direction tag: {', '.join(untagged)}"
            )
        keep = samples["orbit_direction"].str.upper() == orbits.upper()
        log.info("sigma0 from %s passes only: %d of %d observations kept", orbits, int(keep.sum()), len(samples))
        samples = samples[keep]
    names = list(columns.values())
    if max_z is not None:
        for name in names[:-1]:
            samples[name] = sigma0_outliers(samples, name, max_z, outlier_population, outlier_scale)
    return samples.groupby(["probe", "time"])[names].mean()


def optical_series(index: pd.DataFrame, pixels: pd.DataFrame) -> pd.DataFrame:
    """NDVI and NDWI observations at each probe from the indexed Sentinel-2 rasters, masked pixels left missing."""
    samples = sample_rasters(index, pixels, ["NDVI", "NDWI"])
    samples = samples.rename(columns={"NDVI": "ndvi", "NDWI": "ndwi"})
    return samples.groupby(["probe", "time"])[["ndvi", "ndwi"]].mean()


def static_values(paths: Mapping[str, str], pixels: pd.DataFrame) -> pd.DataFrame:
    """Static covariates at each probe pixel."""
    frames = []
    for region, group in pixels.groupby("region"):
        with rasterio.open(paths[region]) as src:
            data = src.read()
        values = data[:, group["row"].to_numpy(), group["col"].to_numpy()].T
        frames.append(pd.DataFrame(values, columns=STATIC_BANDS, index=group["probe"].to_numpy()))
    return pd.concat(frames)


def build_dataset(
    sites: pd.DataFrame,
    daily: pd.DataFrame,
    weather: Mapping[str, pd.DataFrame],
    grids: Mapping[str, StudyGrid],
    sentinel1: pd.DataFrame,
    sentinel2: pd.DataFrame,
    static: Mapping[str, str],
    start: str,
    end: str,
    window_days: int,
    min_valid_fraction: float,
    sigma0: Sigma0Settings,
    config_hash: str = "",
    polarisations: Sequence[str] = ("VV", "VH"),
) -> xr.Dataset:
    """The probe x day dataset; every value not observed stays missing, with an `observed` mask.

    `sentinel1` and `sentinel2` are raster indexes (soilsat.extract.rasters)."""
    polarisations = tuple(polarisations)
    resolution = next(iter(grids.values())).resolution
    pixels = locate_probes(sites, grids)
    days = pd.date_range(start, end, freq="D", name="time")
    probes = pixels["probe"].tolist()
    index = pd.MultiIndex.from_product([probes, days], names=["probe", "time"])
    table = pd.DataFrame(index=index)
    table = table.join(daily.set_index(["probe", "time"])[["ssm", "ts_max"]])
    radar = radar_series(
        sentinel1,
        pixels,
        polarisations,
        orbits=sigma0.orbits,
        statistic=sigma0.statistic,
        radius_px=int(round(float(sigma0.buffer_m) / resolution)),
        max_z=sigma0.max_z,
        outlier_population=sigma0.outlier_population,
        outlier_scale=sigma0.outlier_scale,
    )
    table = table.join(radar)
    for pol in (p.lower() for p in polarisations):
        linear = table[f"sigma0_{pol}"].where(table[f"sigma0_{pol}"] > 0)
        table[f"sigma0_{pol}_db"] = 10 * np.log10(linear)
    sentinel2 = usable(sentinel2, min_valid_fraction)
    optical = optical_series(sentinel2, pixels).reindex(index)
    for name in ("ndvi", "ndwi"):
        table[name] = optical.groupby(level="probe", group_keys=False)[name].apply(
            lambda s: interpolate_within(s.droplevel("probe"), window_days).set_axis(s.index)
        )
    region_of = pixels.set_index("probe")["region"]
    for column in ("precipitation", "tmin", "tmean", "tmax", "dry_days"):
        table[column] = np.nan
    for probe in probes:
        frame = weather[region_of[probe]].reindex(days)
        rows = table.index.get_level_values("probe") == probe
        for column in ("precipitation", "tmin", "tmean", "tmax"):
            table.loc[rows, column] = frame[column].to_numpy()
        table.loc[rows, "dry_days"] = consecutive_dry_days(frame["precipitation"].to_numpy())
    table = drop_probes_without_days(table)
    pixels = pixels[pixels["probe"].isin(table.index.get_level_values("probe"))]
    dataset = xr.Dataset.from_dataframe(table)
    statics = static_values(static, pixels)
    for name in STATIC_BANDS:
        dataset[name] = ("probe", statics.loc[dataset["probe"].values, name].to_numpy())
    located = pixels.set_index("probe").loc[dataset["probe"].values]
    for name in ("region", "lat", "lon", "row", "col"):
        dataset.coords[name] = ("probe", located[name].to_numpy())
    codes = sorted(int(c) for c in np.unique(dataset["landcover"].values[np.isfinite(dataset["landcover"].values)]))
    for code in codes:
        dataset[f"landcover_{code}"] = ("probe", (dataset["landcover"].values == code).astype(np.int8))
        dataset[f"landcover_{code}"].attrs.update(units="1", long_name=f"land cover is CORINE class {code} (one-hot)")
    dynamic = [name for name in DYNAMIC if name in dataset]
    dataset["observed"] = xr.concat([dataset[name].notnull() for name in dynamic], dim="feature").astype(np.int8)
    dataset = dataset.assign_coords(feature=dynamic).transpose("probe", "time", "feature")
    dataset["observed"].attrs.update(
        long_name="1 where the daily variable named by `feature` was observed, 0 where it is missing"
    )
    for name, (units, long_name) in VARIABLES.items():
        if name in dataset:
            dataset[name].attrs.update(units=units, long_name=long_name)
    dataset["observed"].attrs["units"] = "1"
    dataset.attrs.update(
        title="soilsat probe dataset",
        comment=f"{COPERNICUS_ATTRIBUTION}. Missing values are not observed; nothing is filled.",
    )
    add_provenance(dataset, config_hash, {"sentinel1": sentinel1["path"], "sentinel2": sentinel2["path"]})
    first = f"sigma0_{polarisations[0].lower()}"
    log.info(
        "probe dataset: %d probes x %d days, %d probe-days with soil moisture and %s",
        dataset.sizes["probe"],
        dataset.sizes["time"],
        int((dataset["ssm"].notnull() & dataset[first].notnull()).sum()),
        first,
    )
    return dataset


def to_table(dataset: xr.Dataset) -> pd.DataFrame:
    """The probe dataset as a tidy table, static covariates repeated on each day."""
    daily = dataset.drop_dims("feature", errors="ignore")
    return daily.to_dataframe().reset_index()
