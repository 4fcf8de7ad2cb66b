"""Point-sample datasets: bare-soil observation series (Tziolas 2020) and covariate windows (Zhang 2022)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import rasterio
import xarray as xr

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cf_netcdf import DECIBEL
from soilsat.extract.cf import add_provenance
from soilsat.extract.static import STATIC_BANDS
from soilsat.grid import StudyGrid

log = logging.getLogger(__name__)

S2_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
PHENOLOGY_METRICS = ("greenup", "maturity", "peak", "senescence", "dormancy", "amplitude", "mean_evi")


def locate(points: pd.DataFrame, grids: Mapping[str, StudyGrid], id_column: str) -> pd.DataFrame:
    """Region, row and column of each point; points outside every grid are logged and dropped."""
    located = []
    for grid in grids.values():
        x, y = grid.to_grid_crs(points["lon"].to_numpy(), points["lat"].to_numpy())
        inside = grid.contains(x, y)
        row, col = grid.rowcol(x, y)
        part = points.loc[inside].copy()
        part["region"] = grid.region
        part["row"] = row[inside]
        part["col"] = col[inside]
        located.append(part)
    out = pd.concat(located, ignore_index=True).drop_duplicates(id_column)
    outside = sorted(set(points[id_column].astype(str)) - set(out[id_column].astype(str)))
    if outside:
        log.warning("%d points outside every region's study grid, excluded: %s", len(outside), ", ".join(outside))
    return out.sort_values(id_column).reset_index(drop=True)


def raster_index(paths: Sequence[str], time_tag: str) -> pd.DataFrame:
    """Region, acquisition time and path of each processed raster, from its tags."""
    rows = []
    for path in paths:
        with rasterio.open(path) as src:
            tags = src.tags()
        time = pd.Timestamp(tags[time_tag])
        rows.append({"path": str(path), "region": tags["region"], "time": time.tz_localize(None) if time.tzinfo else time,
                     "product": tags.get("product", os.path.basename(str(path)))})
    return pd.DataFrame(rows, columns=["path", "region", "time", "product"])


def usable_optical(paths: Sequence[str], min_valid_fraction: float) -> list[str]:
    """Sentinel-2 rasters whose `valid_fraction` tag reaches `sentinel2.min_valid_fraction`; each dropped one is logged with the reason."""
    keep = []
    for path in paths:
        with rasterio.open(path) as src:
            tag = src.tags().get("valid_fraction")
        if tag is None:
            raise ValueError(f"{path}: Sentinel-2 raster has no valid_fraction tag; reprocess it with the sentinel2 rule")
        fraction = float(tag)
        if fraction >= min_valid_fraction:
            keep.append(str(path))
        else:
            log.info("dropped Sentinel-2 product %s: valid fraction %.3f below sentinel2.min_valid_fraction %.3f",
                     os.path.splitext(os.path.basename(str(path)))[0], fraction, min_valid_fraction)
    if len(keep) < len(paths):
        log.info("%d of %d Sentinel-2 products kept (sentinel2.min_valid_fraction %.3f)", len(keep), len(paths), min_valid_fraction)
    return keep


def values_at(path: str, bands: Sequence[str], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values of named bands at pixels, as (pixel, band)."""
    with rasterio.open(path) as src:
        names = list(src.descriptions)
        missing = [b for b in bands if b not in names]
        if missing:
            raise ValueError(f"{path}: raster lacks bands {missing}")
        data = src.read([names.index(b) + 1 for b in bands])
    return data[:, rows, cols].T


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
                    s1_cache[path] = values_at(path, ["sigma0_VV", "sigma0_VH"], rows, cols)
                sar = s1_cache[path][usable]
                with np.errstate(divide="ignore", invalid="ignore"):
                    frame["VV"] = 10 * np.log10(np.where(sar[:, 0] > 0, sar[:, 0], np.nan))
                    frame["VH"] = 10 * np.log10(np.where(sar[:, 1] > 0, sar[:, 1], np.nan))
                frame["s1_time"] = s1.loc[match, "time"]
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["point_id", "time", *S2_BANDS, "VV", "VH"])
    table = drop_outliers(table.dropna(subset=list(S2_BANDS)), S2_BANDS, outlier_sd)
    without = sorted(set(samples["point_id"]) - set(table["point_id"]))
    if without:
        log.warning("%d samples without any bare-soil observation, excluded: %s", len(without), ", ".join(map(str, without)))
    return table.reset_index(drop=True)


TARGETS = {
    "clay": ("percent", "LUCAS topsoil clay content"),
    "silt": ("percent", "LUCAS topsoil silt content"),
    "sand": ("percent", "LUCAS topsoil sand content"),
    "oc": ("g kg-1", "LUCAS topsoil organic carbon"),
}


def sample_dataset(
    samples: pd.DataFrame, observations: pd.DataFrame, config_hash: str = "",
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
        dataset[pol].attrs.update(units=DECIBEL, long_name=f"Sentinel-1 sigma0 {pol} in decibels (10 log10 of the "
                                                           "linear value) of the acquisition closest in time")
    dataset["time"].attrs["long_name"] = "Sentinel-2 sensing time of the observation"
    dataset["s1_time"].attrs["long_name"] = "Sentinel-1 sensing start of the paired acquisition"
    for name, (units, long_name) in TARGETS.items():
        dataset[name].attrs.update(units=units, long_name=long_name)
    dataset.coords["lat"].attrs.update(units="degrees_north", long_name="latitude")
    dataset.coords["lon"].attrs.update(units="degrees_east", long_name="longitude")
    dataset.attrs.update(title="soilsat bare-soil sample series (Tziolas 2020)", comment=COPERNICUS_ATTRIBUTION)
    add_provenance(dataset, config_hash, products or {})
    log.info("sample dataset: %d samples, up to %d bare-soil observations each, %d observations in all",
             dataset.sizes["sample"], dataset.sizes["observation"], len(observations))
    return dataset


def sample_table(dataset: xr.Dataset) -> pd.DataFrame:
    """The sample dataset for people: one row per bare-soil observation, padding dropped, targets repeated."""
    table = dataset.to_dataframe().reset_index()
    return table[table["time"].notna()].reset_index(drop=True)


def covariate_windows(static_paths: Mapping[str, str], samples: pd.DataFrame, size: int) -> xr.DataArray:
    """Static covariates as size x size windows centred on each sample, (sample, covariate, wy, wx)."""
    if size % 2 == 0 or size < 1:
        raise ValueError(f"window size must be an odd positive number, got {size}")
    half = size // 2
    out = np.full((len(samples), len(STATIC_BANDS), size, size), np.nan, dtype=np.float32)
    for region, group in samples.groupby("region"):
        with rasterio.open(static_paths[region]) as src:
            data = src.read().astype(np.float32)
        padded = np.pad(data, ((0, 0), (half, half), (half, half)), constant_values=np.nan)
        for i, (r, c) in zip(group.index, zip(group["row"], group["col"])):
            out[i] = padded[:, r : r + size, c : c + size]
    return xr.DataArray(out, dims=("sample", "covariate", "wy", "wx"),
                        coords={"sample": samples["point_id"].to_numpy(), "covariate": list(STATIC_BANDS)})


def smooth_daily(times: pd.Series, values: np.ndarray, year: int, window_days: int = 31) -> pd.Series:
    """A daily curve for one year: linear interpolation of observations, then a centred moving mean."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    observed = pd.Series(values, index=pd.DatetimeIndex(times)).dropna().sort_index()
    observed = observed.groupby(level=0).mean()
    if len(observed) < 3:
        return pd.Series(np.nan, index=days)
    x = (observed.index - days[0]).days.to_numpy()
    y = np.interp((days - days[0]).days.to_numpy(), x, observed.to_numpy())
    curve = pd.Series(y, index=days).rolling(window_days, center=True, min_periods=1).mean()
    return curve


def phenology(curve: pd.Series) -> dict[str, float]:
    """Greenup, maturity, peak, senescence and dormancy day-of-year and amplitude of a daily curve.

    Dates are where the curve first rises through 15 % and 90 % of its seasonal amplitude before
    the peak, and last falls through 90 % and 15 % after it.
    """
    values = curve.to_numpy()
    if np.isnan(values).all():
        return dict.fromkeys(PHENOLOGY_METRICS[:-1], np.nan)
    low, high = np.nanmin(values), np.nanmax(values)
    amplitude = high - low
    peak = int(np.nanargmax(values))
    doy = curve.index.day_of_year.to_numpy()

    def crossing(level: float, rising: bool) -> float:
        threshold = low + level * amplitude
        if rising:
            before = np.nonzero(values[: peak + 1] >= threshold)[0]
            return float(doy[before[0]]) if len(before) else np.nan
        after = np.nonzero(values[peak:] >= threshold)[0]
        return float(doy[peak + after[-1]]) if len(after) else np.nan

    return {"greenup": crossing(0.15, True), "maturity": crossing(0.9, True), "peak": float(doy[peak]),
            "senescence": crossing(0.9, False), "dormancy": crossing(0.15, False), "amplitude": float(amplitude)}


def yearly_phenology(samples: pd.DataFrame, optical: pd.DataFrame, index: str = "EVI") -> xr.DataArray:
    """Phenology metrics and mean EVI per sample and year, (sample, year, metric)."""
    years = sorted(optical["time"].dt.year.unique())
    out = np.full((len(samples), len(years), len(PHENOLOGY_METRICS)), np.nan, dtype=np.float32)
    for region, group in samples.groupby("region"):
        products = optical[optical["region"] == region].sort_values("time")
        if products.empty:
            continue
        rows, cols = group["row"].to_numpy(), group["col"].to_numpy()
        series = np.stack([values_at(p, [index], rows, cols)[:, 0] for p in products["path"]], axis=1)
        for k, year in enumerate(years):
            in_year = (products["time"].dt.year == year).to_numpy()
            for j, i in enumerate(group.index):
                curve = smooth_daily(products["time"][in_year], series[j, in_year], year)
                metrics = phenology(curve)
                out[i, k, :-1] = [metrics[m] for m in PHENOLOGY_METRICS[:-1]]
                out[i, k, -1] = np.nanmean(series[j, in_year]) if np.isfinite(series[j, in_year]).any() else np.nan
    return xr.DataArray(out, dims=("sample", "year", "metric"),
                        coords={"sample": samples["point_id"].to_numpy(), "year": years, "metric": list(PHENOLOGY_METRICS)})


def window_dataset(
    samples: pd.DataFrame, windows: xr.DataArray, yearly: xr.DataArray, config_hash: str = "",
    products: Mapping[str, Sequence[str]] | None = None,
) -> xr.Dataset:
    """The Zhang 2022 dataset: covariate windows, yearly phenology series and the targets per sample."""
    dataset = xr.Dataset({"windows": windows, "phenology": yearly})
    for name in TARGETS:
        dataset[name] = ("sample", samples[name].to_numpy(dtype=float))
        dataset[name].attrs.update(units=TARGETS[name][0], long_name=TARGETS[name][1])
    for name in ("lat", "lon", "region"):
        dataset.coords[name] = ("sample", samples[name].to_numpy())
    dataset.coords["lat"].attrs.update(units="degrees_north", long_name="latitude")
    dataset.coords["lon"].attrs.update(units="degrees_east", long_name="longitude")
    dataset["windows"].attrs.update(
        units="1", long_name="static covariates in a window centred on the sample",
        comment="each covariate in its own units, as in the probe dataset's data dictionary")
    dataset["phenology"].attrs.update(
        units="1", long_name="day of year of phenology stages, amplitude and mean of the EVI curve",
        comment="greenup, maturity, peak, senescence, dormancy: day of year; amplitude, mean_evi: EVI (1)")
    dataset.attrs.update(title="soilsat covariate windows and phenology (Zhang 2022)", comment=COPERNICUS_ATTRIBUTION)
    return add_provenance(dataset, config_hash, products or {})


def window_table(dataset: xr.Dataset) -> pd.DataFrame:
    """The window dataset for people: one row per sample and year, centre-pixel covariates and phenology."""
    centre = dataset["windows"].isel(wy=dataset.sizes["wy"] // 2, wx=dataset.sizes["wx"] // 2)
    covariates = centre.to_pandas().add_prefix("static_")
    phenology = dataset["phenology"].to_dataframe().reset_index().pivot_table(
        index=["sample", "year"], columns="metric", values="phenology", dropna=False).reset_index()
    targets = dataset[["oc", "clay", "silt", "sand"]].to_dataframe()
    return phenology.merge(covariates, left_on="sample", right_index=True).merge(targets, left_on="sample", right_index=True)
