"""Prediction stacks: the features of every pixel of a study grid, for maps."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import rasterio

from soilsat.extract.samples import S2_BANDS
from soilsat.extract.series import consecutive_dry_days
from soilsat.extract.static import STATIC_BANDS
from soilsat.sar.bands import backscatter_bands, radiometry_of

log = logging.getLogger(__name__)


def read_named(path: str, bands: Sequence[str]) -> np.ndarray:
    """The named bands of a raster as a (band, y, x) float32 array."""
    with rasterio.open(path) as src:
        names = list(src.descriptions)
        missing = [b for b in bands if b not in names]
        if missing:
            raise ValueError(f"{path}: raster lacks bands {missing}")
        return src.read([names.index(b) + 1 for b in bands]).astype(np.float32)


def to_db(linear: np.ndarray) -> np.ndarray:
    """Decibels of positive linear values; others missing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(linear > 0, 10 * np.log10(linear), np.nan).astype(np.float32)


def interpolated_index(optical: pd.DataFrame, day: pd.Timestamp, band: str, window_days: int) -> np.ndarray:
    """Per-pixel linear interpolation in time of an index between the last valid observation before
    `day` and the first after it, each within `window_days`; a single side is used as is."""
    near = optical[(optical["time"] - day).abs() <= pd.Timedelta(days=window_days)].sort_values("time")
    before_value = before_time = after_value = after_time = None
    for _, row in near.iterrows():
        values = read_named(row["path"], [band])[0]
        t = (row["time"] - day) / pd.Timedelta(days=1)
        if before_value is None or before_time is None or after_value is None or after_time is None:  # all or none
            shape = values.shape
            before_value = np.full(shape, np.nan, np.float32)
            before_time = np.full(shape, np.nan, np.float32)
            after_value = np.full(shape, np.nan, np.float32)
            after_time = np.full(shape, np.nan, np.float32)
        ok = np.isfinite(values)
        if t <= 0:
            before_value[ok], before_time[ok] = values[ok], t
        else:
            first = ok & np.isnan(after_value)
            after_value[first], after_time[first] = values[first], t
    if before_value is None or before_time is None or after_value is None or after_time is None:  # all or none
        raise ValueError(f"no Sentinel-2 observation within {window_days} days of {day.date()}")
    span = after_time - before_time
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(span > 0, -before_time / span, 0.0)
    both = np.isfinite(before_value) & np.isfinite(after_value)
    return np.where(
        both,
        before_value + weight * (after_value - before_value),
        np.where(np.isfinite(before_value), before_value, after_value),
    ).astype(np.float32)


def daily_stack(
    sentinel1_path: str,
    optical: pd.DataFrame,
    weather: pd.DataFrame,
    static_path: str,
    day: pd.Timestamp,
    window_days: int,
    features: Sequence[str],
) -> np.ndarray:
    """The (feature, y, x) stack of the probe model's daily features on one acquisition day.

    Features are named as in the probe dataset: sigma0_vv (linear) or sigma0_vv_db, landcover_<code> (one-hot)."""
    with rasterio.open(sentinel1_path) as src:
        names = list(src.descriptions)
    radiometry = radiometry_of(names)  # the study's sentinel1.radiometry; the features keep the names sigma0_vv, ...
    polarisations = [d.removeprefix(f"{radiometry}_") for d in names if d and d.startswith(f"{radiometry}_")]
    sar = read_named(sentinel1_path, backscatter_bands(names, polarisations))
    static = read_named(static_path, STATIC_BANDS)
    shape = sar.shape[1:]
    days = weather.index
    dry = pd.Series(consecutive_dry_days(weather["precipitation"].to_numpy()), index=days)
    layers = {
        "ndvi": interpolated_index(optical, day, "NDVI", window_days),
        "ndwi": interpolated_index(optical, day, "NDWI", window_days),
    }
    for pol, linear in zip(polarisations, sar):
        layers[f"sigma0_{pol.lower()}"] = linear
        layers[f"sigma0_{pol.lower()}_db"] = to_db(linear)
    if "incidence_angle" in features:
        layers["incidence_angle"] = read_named(sentinel1_path, ["local_incidence_angle"])[0]
    for name in ("precipitation", "tmin", "tmean", "tmax"):
        layers[name] = np.full(shape, weather.loc[day, name], np.float32)
    layers["dry_days"] = np.full(shape, dry.loc[day], np.float32)
    layers.update(dict(zip(STATIC_BANDS, static)))
    for name in features:
        if name.startswith("landcover_"):
            code = float(name.removeprefix("landcover_"))
            layers[name] = np.where(
                np.isfinite(static[STATIC_BANDS.index("landcover")]),
                static[STATIC_BANDS.index("landcover")] == code,
                np.nan,
            ).astype(np.float32)
    missing = [name for name in features if name not in layers]
    if missing:
        raise ValueError(f"{sentinel1_path}: no map layer for the model inputs {missing}")
    return np.stack([layers[name] for name in features])


def nanmedian_first_axis(stack: np.ndarray) -> np.ndarray:
    """np.nanmedian(stack, axis=0), NaN where a pixel has no value, by one sort per pixel.

    NaN sorts last, so each pixel's median is the middle of its first `count` sorted values. NumPy's
    nanmedian sorts masked arrays: on a year's demo stack (36 dates, 10 bands, 600 x 600) it took
    13.7 s, this 0.8 s, with identical results.
    """
    ordered = np.sort(stack, axis=0)
    count = (~np.isnan(stack)).sum(axis=0)
    low = np.maximum(count - 1, 0) // 2
    high = np.minimum(count // 2, stack.shape[0] - 1)
    lower = np.take_along_axis(ordered, low[None], axis=0)[0]
    upper = np.take_along_axis(ordered, high[None], axis=0)[0]
    return np.where(count > 0, (lower + upper) / 2, np.nan).astype(stack.dtype)


def median_bare_spectra(
    optical: pd.DataFrame, add_coordinates: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Per-pixel median of the 10 bands over bare-soil, valid observations, (band, y, x); NaN where never bare."""
    stacks = []
    for path in optical.sort_values("time")["path"]:
        data = read_named(path, [*S2_BANDS, "bare", "valid"])
        usable = (data[-1] == 1) & (data[-2] == 1)
        stacks.append(np.where(usable, data[: len(S2_BANDS)], np.nan))
    if not stacks:
        raise ValueError("no Sentinel-2 products to build bare-soil spectra from")
    median = nanmedian_first_axis(np.stack(stacks))
    if add_coordinates is not None:
        median = np.concatenate([median, np.stack(add_coordinates).astype(np.float32)])
    return median.astype(np.float32)


def mean_index(optical: pd.DataFrame, band: str = "EVI") -> np.ndarray:
    """Per-pixel mean of an index over all valid observations."""
    total = count = None
    for path in optical["path"]:
        values = read_named(path, [band])[0]
        ok = np.isfinite(values)
        if total is None or count is None:  # both or neither
            total = np.zeros(values.shape, np.float64)
            count = np.zeros(values.shape, np.int32)
        total[ok] += values[ok]
        count[ok] += 1
    if total is None or count is None:  # both or neither
        raise ValueError("no Sentinel-2 products for the mean index")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).astype(np.float32)


def predict_map(model, stack: np.ndarray, rows_per_chunk: int = 64) -> np.ndarray:
    """Apply a fitted regressor to every pixel of a (feature, y, x) stack with all features present, in row chunks."""
    n_features, height, width = stack.shape
    out = np.full((height, width), np.nan, np.float32)
    for r0 in range(0, height, rows_per_chunk):
        block = stack[:, r0 : r0 + rows_per_chunk].reshape(n_features, -1).T
        ok = np.isfinite(block).all(axis=1)
        if ok.any():
            values = out[r0 : r0 + rows_per_chunk].reshape(-1)
            values[ok] = model.predict(block[ok])
            out[r0 : r0 + rows_per_chunk] = values.reshape(-1, width)
    return out
