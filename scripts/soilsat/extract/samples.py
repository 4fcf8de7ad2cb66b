"""The sample dataset of Tziolas (2020): bare-soil Sentinel-2 series with paired Sentinel-1 at each LUCAS point."""

from __future__ import annotations

import logging
import os
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


# The long tables both routes hand to pair_observations: one row per point-observation. Optical rows hold the
# reflectances and the 0/1 bare-soil and validity flags at the point's pixel; radar rows the linear backscatter.
OPTICAL_COLUMNS = ("point_id", "time", "product", *S2_BANDS, "bare", "valid")
RADAR_COLUMNS = ("point_id", "time", "product", "VV", "VH")


def closest_positions(times: np.ndarray, targets: np.ndarray, max_days: float) -> np.ndarray:
    """For each target, the position in the sorted `times` closest to it within `max_days` (-1 when none); on a
    tie the earliest, as closest_in_time chooses."""
    times = np.asarray(times, dtype="datetime64[ns]")
    targets = np.asarray(targets, dtype="datetime64[ns]")
    out = np.full(len(targets), -1, dtype=np.int64)
    if len(times) == 0 or len(targets) == 0:
        return out
    after = np.searchsorted(times, targets, side="left")
    before = np.clip(after - 1, 0, len(times) - 1)
    before = np.searchsorted(times, times[before], side="left")  # the first of equal times
    after = np.clip(after, 0, len(times) - 1)
    gap_before = np.abs(targets - times[before])
    gap_after = np.abs(times[after] - targets)
    best = np.where(gap_after < gap_before, after, before)
    gap = np.minimum(gap_before, gap_after)
    within = gap <= np.timedelta64(int(max_days * 86400e9), "ns")
    out[within] = best[within]
    return out


def usable_rows(optical: pd.DataFrame) -> pd.DataFrame:
    """The optical rows that are clear and bare soil at the point's pixel."""
    return optical[(optical["bare"] == 1) & (optical["valid"] == 1)]


def pair_observations(
    points: Sequence[str], optical: pd.DataFrame, radar: pd.DataFrame, pair_days: float, outlier_sd: float
) -> pd.DataFrame:
    """Every bare-soil Sentinel-2 observation of each point with its 10 bands and the point's closest Sentinel-1
    VV/VH (dB) within `pair_days`, band outliers removed: the one pairing both routes (region rasters, chips) use.

    `optical` has OPTICAL_COLUMNS, `radar` RADAR_COLUMNS (linear backscatter), one row per point-observation.
    """
    order = {str(p): i for i, p in enumerate(points)}
    rows = usable_rows(optical).copy()
    rows["point_id"] = rows["point_id"].astype(str)
    rows = rows[rows["point_id"].isin(order)]
    rows["_order"] = rows["point_id"].map(order)
    rows = rows.sort_values(["time", "_order", "product"], kind="mergesort")
    table = rows[["point_id", "time", *S2_BANDS]].reset_index(drop=True)
    for pol in ("VV", "VH"):
        table[pol] = pd.Series(np.nan, index=table.index, dtype="float32")
    table["s1_time"] = pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns]")
    radar = radar.assign(point_id=radar["point_id"].astype(str)).sort_values(["point_id", "time"], kind="mergesort")
    by_point = {p: r.reset_index(drop=True) for p, r in radar.groupby("point_id", sort=False)}
    for point, positions in table.groupby("point_id", sort=False).groups.items():
        s1 = by_point.get(str(point))
        if s1 is None:
            continue
        match = closest_positions(s1["time"].to_numpy(), table.loc[positions, "time"].to_numpy(), pair_days)
        found = match >= 0
        paired = s1.iloc[match[found]]
        target = np.asarray(positions)[found]
        with np.errstate(divide="ignore", invalid="ignore"):
            for pol in ("VV", "VH"):
                linear = paired[pol].to_numpy(dtype=np.float32)
                table.loc[target, pol] = 10 * np.log10(np.where(linear > 0, linear, np.float32(np.nan)))
        table.loc[target, "s1_time"] = paired["time"].to_numpy()
    table = drop_outliers(table.dropna(subset=list(S2_BANDS)), S2_BANDS, outlier_sd)
    without = sorted(set(order) - set(table["point_id"]))
    if without:
        log.warning(
            "%d samples without any bare-soil observation, excluded: %s", len(without), ", ".join(map(str, without))
        )
    return table.reset_index(drop=True)


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


def read_point_values(paths: Sequence[str | os.PathLike], columns: Sequence[str]) -> pd.DataFrame:
    """The point-observation tables (parquet) of the chip route's batches, one after the other; ValueError naming a
    file that lacks one of `columns`."""
    frames = []
    for path in paths:
        frame = pd.read_parquet(path)
        missing = [c for c in columns if c not in frame]
        if missing:
            raise ValueError(f"{path}: not a table of chip values (no columns {missing})")
        frames.append(frame)
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(frames, ignore_index=True)
