"""The inputs of the Tsagkatakis (2021) patches on each region's fine grid, scene by scene.

A region's fine grid is its study grid coarsened to train.tsagkatakis.fine_resolution_m (the paper: 1 km). A
scene is one Sentinel-1 acquisition over a region, with:

- sigma0 VV and VH: the Sentinel-1 backscatter the SMAP/Sentinel-1 L2 product carries on its 1 km cells
  (SPL2SMAP_S, as the paper), or soilsat's own Sentinel-1 raster averaged (linear) over each fine pixel;
- brightness temperatures H and V of the nearest SMAP half-orbit within smap.pair_hours (SPL1CTB_E, 9 km;
  the mean of the fore and aft looks of good quality);
- the SMAP L2 9 km soil moisture of the same half-orbit (SPL2SMP_E), the auxiliary target;
- the SMAP/Sentinel-1 L2 1 km soil moisture of the scene (SPL2SMAP_S) of the same pass, the baseline.

Each fine pixel takes the value of the EASE-Grid 2.0 cell (M09 or M01) its centre falls in; a probe takes the
baseline of the M01 cell it lies in. Each granule is read once, whatever the regions and scenes it serves.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

import numpy as np
import pandas as pd

from soilsat.errors import ConfigError, ProductError
from soilsat.extract.granules import fetched, of_region
from soilsat.grid import StudyGrid, coarsened
from soilsat.io import read_bands
from soilsat.nasa import ease2, smap_l1c, smap_l2, smap_l2sp
from soilsat.sar.bands import backscatter_bands
from soilsat.settings import Settings

log = logging.getLogger(__name__)

FINE_BANDS = ("sigma0_VV", "sigma0_VH")  # or gamma0_VV, gamma0_VH (sentinel1.radiometry: gamma0)
# SPL2SMAP_S names carry the Sentinel-1 acquisition first, then the SMAP pass:
# SMAP_L2_SM_SP_1AIWDV_20200901T002823_20200901T011459_097W35N_R17000_001.h5
L2SP_NAME = re.compile(r"^SMAP_L2_SM_SP_[0-9A-Z]+_(?P<s1>\d{8}T\d{6})_(?P<smap>\d{8}T\d{6})_")

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class SmapSettings(Settings):
    """How the SMAP products meet the Sentinel-1 acquisitions (config section smap)."""

    pair_hours: float
    recommended_only: bool


@dataclasses.dataclass(frozen=True)
class FineRegion:
    """A region's fine grid and the EASE-Grid 2.0 M09 and M01 cells of its pixels, each as (rows, cols)."""

    name: str
    grid: StudyGrid
    factor: int
    m09: tuple[np.ndarray, np.ndarray]
    m01: tuple[np.ndarray, np.ndarray]

    @property
    def shape(self) -> tuple[int, int]:
        return self.grid.shape


@dataclasses.dataclass
class Scene:
    """One Sentinel-1 acquisition over a region on its fine grid (fields (y, x); NaN where a product has none)."""

    region: str
    time: pd.Timestamp
    product: str
    sigma0_vv: np.ndarray
    sigma0_vh: np.ndarray
    tb_h: np.ndarray
    tb_v: np.ndarray
    smap_l2_sm: np.ndarray
    m09: tuple[np.ndarray, np.ndarray]
    baseline: Callable[[np.ndarray, np.ndarray], np.ndarray]  # M01 (rows, cols) -> 1 km soil moisture


def fine_region(study: StudyGrid, fine_resolution_m: float) -> FineRegion:
    """The study grid coarsened to whole fine pixels, with the M09 and M01 cells of their centres."""
    try:
        grid = coarsened(study, fine_resolution_m)
    except ValueError as exc:
        raise ConfigError(f"config key train.tsagkatakis.fine_resolution_m: {exc}") from None
    lon, lat = grid.lonlat()
    cells = {name: ease2.lonlat_to_rowcol(ease2.GRIDS[name], lon, lat) for name in ("M09", "M01")}
    factor = int(round(grid.resolution / study.resolution))
    return FineRegion(study.region, grid, factor, cells["M09"], cells["M01"])


def lookup(cells: tuple[np.ndarray, np.ndarray], rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The values of listed cells (rows, cols, values) at the cells of `cells` (NaN where a cell is not listed)."""
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    out = np.full(np.shape(cells[0]), np.nan)
    if rows.size == 0:
        return out
    row0, col0 = int(rows.min()), int(cols.min())
    window = np.full((int(rows.max()) - row0 + 1, int(cols.max()) - col0 + 1), np.nan)
    window[rows - row0, cols - col0] = np.asarray(values, dtype=np.float64)
    r, c = np.asarray(cells[0]) - row0, np.asarray(cells[1]) - col0
    inside = (r >= 0) & (r < window.shape[0]) & (c >= 0) & (c < window.shape[1])
    out[inside] = window[r[inside], c[inside]]
    return out


def granules(catalog: str | os.PathLike, folder: str | os.PathLike) -> pd.DataFrame:
    """The fetched granules of a SMAP source with their time: the Sentinel-1 acquisition of a SPL2SMAP_S granule
    (from its name), else the middle of the sensing period."""
    table = fetched(catalog, folder)
    middle = table["start"] + (table["stop"] - table["start"]) / 2
    s1 = pd.to_datetime(table["name"].str.extract(L2SP_NAME)["s1"], format="%Y%m%dT%H%M%S")
    return table.assign(time=s1.fillna(middle) if len(table) else middle)


def nearest(table: pd.DataFrame, time: pd.Timestamp, hours: float) -> pd.Series | None:
    """The row of the granule nearest in time, if within `hours`."""
    if table.empty:
        return None
    gap = (table["time"] - time).abs()
    best = gap.idxmin()
    return table.loc[best] if gap[best] <= pd.Timedelta(hours=hours) else None


def read_once(requests: Mapping[Hashable, str], read: Callable[[str], T]) -> dict[Hashable, T]:
    """read(path) for every request key, each path read once."""
    done: dict[str, T] = {}
    for path in dict.fromkeys(requests.values()):
        done[path] = read(path)
    return {key: done[path] for key, path in requests.items()}


@dataclasses.dataclass(frozen=True)
class Radiometer:
    """A half-orbit's listed M09 cells: brightness temperatures H and V and the pass."""

    rows: np.ndarray
    cols: np.ndarray
    tb_h: np.ndarray
    tb_v: np.ndarray
    overpass: str


def read_radiometer(path: str) -> Radiometer:
    """Brightness temperatures of a SPL1CTB_E half-orbit (mean of the good fore and aft looks)."""
    tb = smap_l1c.read_tb(path)
    return Radiometer(
        tb["row"].values,
        tb["col"].values,
        smap_l1c.brightness_temperature(tb, "h").values,
        smap_l1c.brightness_temperature(tb, "v").values,
        str(tb.attrs["overpass"]),
    )


def read_l2(path: str, recommended_only: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, soil moisture) of a SPL2SMP_E half-orbit's cells (NaN where not recommended, if asked)."""
    sm = smap_l2.read_sm(path)
    values = sm["soil_moisture"].values
    if recommended_only:
        values = np.where(sm["recommended"].values, values, np.nan)
    return sm["row"].values, sm["col"].values, values


@dataclasses.dataclass(frozen=True)
class ActivePassive:
    """A SPL2SMAP_S scene's 1 km cells, flattened: sigma0 VV and VH (linear; both passes' groups carry the
    scene's backscatter) and the soil moisture of each pass."""

    rows: np.ndarray
    cols: np.ndarray
    sigma0_vv: np.ndarray
    sigma0_vh: np.ndarray
    soil_moisture: dict[str, np.ndarray]


def read_active_passive(path: str, recommended_only: bool) -> ActivePassive:
    """The 1 km groups of a SPL2SMAP_S granule."""
    passes = {overpass: smap_l2sp.read_sm(path, km=1, overpass=overpass) for overpass in ("AM", "PM")}
    first = passes["AM"]
    rows, cols = np.meshgrid(first["row"].values, first["col"].values, indexing="ij")
    with np.errstate(invalid="ignore"):
        sigma0 = {
            pol: np.nanmean(np.stack([p[f"sigma0_{pol}_aggregated"].values for p in passes.values()]), axis=0)
            for pol in ("vv", "vh")
        }
    moisture = {}
    for overpass, data in passes.items():
        values = data["soil_moisture"].values
        moisture[overpass] = (
            np.where(data["recommended"].values, values, np.nan) if recommended_only else values
        ).ravel()
    return ActivePassive(rows.ravel(), cols.ravel(), sigma0["vv"].ravel(), sigma0["vh"].ravel(), moisture)


def to_db(linear: np.ndarray) -> np.ndarray:
    """Linear sigma0 in dB (NaN where not positive)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(linear > 0, 10 * np.log10(np.where(linear > 0, linear, 1.0)), np.nan)


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """Mean of `factor` x `factor` blocks of a 2-D array cut to whole blocks."""
    ny, nx = values.shape[0] // factor, values.shape[1] // factor
    return values[: ny * factor, : nx * factor].reshape(ny, factor, nx, factor).mean(axis=(1, 3))


def raster_sigma0(path: str, region: FineRegion) -> tuple[np.ndarray, np.ndarray]:
    """sigma0 VV and VH (linear) of a soilsat Sentinel-1 raster averaged over each fine pixel that has at least
    half its study pixels valid."""
    bands = read_bands(path)
    try:  # sigma0_VV or gamma0_VV, as the study's sentinel1.radiometry made them
        names = backscatter_bands(list(bands), ("VV", "VH"))
    except ValueError:
        raise ProductError(path, f"Sentinel-1 raster lacks bands {', '.join(FINE_BANDS)}") from None
    out = []
    for name in names:
        linear = bands[name].astype(np.float64)
        linear = np.where(linear > 0, linear, np.nan)
        valid = block_mean(np.isfinite(linear).astype(np.float64), region.factor)
        mean = block_mean(np.nan_to_num(linear), region.factor) / np.maximum(valid, 1e-12)
        out.append(np.where(valid >= 0.5, mean, np.nan)[: region.shape[0], : region.shape[1]])
    return out[0], out[1]


def sources_of(
    sigma0_source: str, region: str, radar: pd.DataFrame, active_passive: pd.DataFrame
) -> list[tuple[pd.Timestamp, str, str]]:
    """(time, product, path) of a region's Sentinel-1 acquisitions: SPL2SMAP_S granules or soilsat rasters."""
    if sigma0_source == "smap_l2_sm_sp":
        table = of_region(active_passive, region)
        return [(row.time, row.name, row.path) for row in table.sort_values("time").itertuples()]
    table = radar[radar["region"] == region].sort_values("time")
    return [(pd.Timestamp(row.time), str(row.product), str(row.path)) for row in table.itertuples()]


def region_scenes(
    regions: Iterable[FineRegion],
    sigma0_source: str,
    radar: pd.DataFrame,
    radiometer: pd.DataFrame,
    level2: pd.DataFrame,
    active_passive: pd.DataFrame,
    settings: SmapSettings,
) -> list[Scene]:
    """Every scene of the regions that has a SMAP half-orbit within smap.pair_hours (the others are logged)."""
    wanted = []
    for region in regions:
        for time, product, path in sources_of(sigma0_source, region.name, radar, active_passive):
            tb = nearest(of_region(radiometer, region.name), time, settings.pair_hours)
            if tb is None:
                log.info(
                    "%s over %s: no SMAP L1C half-orbit within %g h; skipped", product, region.name, settings.pair_hours
                )
                continue
            l2 = nearest(of_region(level2, region.name), tb["time"], 1.0)
            ap = nearest(of_region(active_passive, region.name), time, settings.pair_hours)
            wanted.append((region, time, product, path, tb["path"], None if l2 is None else l2["path"], ap))
    tbs = read_once({i: w[4] for i, w in enumerate(wanted)}, read_radiometer)
    l2s = read_once(
        {i: w[5] for i, w in enumerate(wanted) if w[5] is not None}, lambda p: read_l2(p, settings.recommended_only)
    )
    aps = read_once(
        {i: w[6]["path"] for i, w in enumerate(wanted) if w[6] is not None},
        lambda p: read_active_passive(p, settings.recommended_only),
    )
    scenes = []
    for i, (region, time, product, path, _, _, _) in enumerate(wanted):
        radiometer_pass = tbs[i]
        if sigma0_source == "smap_l2_sm_sp":
            ap = aps[i]
            vv = lookup(region.m01, ap.rows, ap.cols, ap.sigma0_vv)
            vh = lookup(region.m01, ap.rows, ap.cols, ap.sigma0_vh)
        else:
            vv, vh = raster_sigma0(path, region)
        if i in l2s:
            sm9 = lookup(region.m09, *l2s[i])
        else:
            sm9 = np.full(region.shape, np.nan)
        scenes.append(
            Scene(
                region=region.name,
                time=time,
                product=product,
                sigma0_vv=to_db(vv),
                sigma0_vh=to_db(vh),
                tb_h=lookup(region.m09, radiometer_pass.rows, radiometer_pass.cols, radiometer_pass.tb_h),
                tb_v=lookup(region.m09, radiometer_pass.rows, radiometer_pass.cols, radiometer_pass.tb_v),
                smap_l2_sm=sm9,
                m09=region.m09,
                baseline=baseline_of(aps.get(i), radiometer_pass.overpass),
            )
        )
    return scenes


def baseline_of(ap: ActivePassive | None, overpass: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The 1 km soil moisture of a scene's pass at M01 cells (NaN everywhere without a SPL2SMAP_S granule)."""

    def at(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if ap is None:
            return np.full(np.shape(rows), np.nan)
        return lookup((rows, cols), ap.rows, ap.cols, ap.soil_moisture[overpass])

    return at
