"""The pairing of the Tziolas (2020) samples, one function for both routes: every clear bare-soil Sentinel-2
observation of a point with the point's Sentinel-1 closest in time within `sentinel1_pair_days`, band outliers
removed. Its inputs are long tables with one row per point-observation, which the region route reads from its
region rasters (soilsat.extract.samples) and the chip route from each point's chips (soilsat.extract.chip_optical,
chip_radar)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def usable_chips(values: pd.DataFrame, min_valid_fraction: float) -> pd.DataFrame:
    """The point-observations whose chip's valid fraction reaches sentinel2.min_valid_fraction (the chip route's
    counterpart of the region route's valid fraction over the AOI)."""
    keep = values["valid_fraction"] >= min_valid_fraction
    if not keep.all():
        log.info(
            "%d of %d Sentinel-2 point-observations kept (chip valid fraction >= sentinel2.min_valid_fraction %.3f)",
            int(keep.sum()),
            len(values),
            min_valid_fraction,
        )
    return values[keep].reset_index(drop=True)


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
