"""The demo world's soil-moisture reference products, CSM and ECV_SM, in their genuine NetCDF formats.

Both are written as the fetch of the real products leaves them: one file per day and region, named
`<distribution name without .nc>_<region>.nc`, holding the cells of the product's global lattice
that overlap the region's study grid, with the variables, types, scale factors, fill values and
global attributes of the real files (soilsat.reference.cgls_ssm and .esacci_sm read both alike).
A cell's truth is the mean of the study-grid pixels whose centres fall in it; cells without any
are no-data.

- csm (CGLS SSM 1 km, 1/112 degree): on the region's Sentinel-1 pass days a change-detection estimate
  (Bauer-Marschallinger et al. 2019) from a simulated 1 km backscatter, sigma0 [dB] = the cell's dry
  level + CSM_SENSITIVITY_DB x soil moisture + CSM_VEGETATION_DB x vegetation cover + noise of
  CSM_NOISE_DB; the relative soil moisture is sigma0's position between the cell's dry and wet
  references, the 10th and 90th percentiles of its backscatter over the period (the outlier trimming
  Simonsen 2021 describes), clipped to 0..100 %, with ssm_noise the noise scaled the same way.
  Water cells are flagged WaterMask, forest cells SensitivityMask; every other day is all no-data.
- ecv_sm (ESA CCI SM COMBINED, 0.25 degree): the cell's truth smoothed over ECV_SMOOTHING_DAYS, plus
  ECV_BIAS, plus Gaussian noise of ECV_NOISE_SD (its sm_uncertainty). Days with a mean air
  temperature below 0 degC carry flag 1 (snow or frozen) and no value; of the other days a random
  ECV_GAP_PROBABILITY carry flag 4 (no convergence) and no value.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pandas as pd

from soilsat.demo.world import RegionWorld
from soilsat.io import atomic_path
from soilsat.reference import cgls_ssm, esacci_sm

CSM_TILE = "CEURO"
CSM_SENSITIVITY_DB = 25.0  # backscatter change per m3 m-3 of soil moisture
CSM_VEGETATION_DB = 2.0  # backscatter added by full vegetation cover
CSM_NOISE_DB = 0.5  # noise of a 1 km backscatter average
CSM_DRY_DB = (-20.0, -16.0)  # range of the cells' dry-soil backscatter
CSM_REFERENCE_PERCENTILES = (10.0, 90.0)
WATER_CODES = (512,)
FOREST_CODES = (311, 312)

ECV_BIAS = 0.04  # m3 m-3; ECV_SM overestimated the probes' soil moisture in Simonsen (2021, Fig. 26)
ECV_NOISE_SD = 0.02  # m3 m-3
ECV_SMOOTHING_DAYS = 3
ECV_GAP_PROBABILITY = 0.1
ECV_FLAG_FROZEN = 1
ECV_FLAG_NO_CONVERGENCE = 4
ECV_SENSOR = 816  # AMSR2+ASCATA+ASCATB
ECV_FREQUENCY_BANDS = 66  # C53+X107
ECV_DAY_NIGHT = 3  # day_night_combination
ECV_MODE = 3  # ascending_descending_combination

CGLS_LATTICE = (-11.0, 72.0, cgls_ssm.CELL_DEG)  # west edge, north edge and cell of the CEURO tile's grid
ESA_LATTICE = (-180.0, 90.0, esacci_sm.CELL_DEG)


def cell_layout(region: RegionWorld, lattice: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the cells of a lattice (west edge, north edge, cell) that overlap the region's study grid: each
    pixel's cell as an index into the (lat, lon) crop, flattened, and the crop's centre latitudes and longitudes."""
    west_edge, north_edge, cell = lattice
    west, south, east, north = region.grid.lonlat_bounds()
    rows = np.arange(int(np.floor((north_edge - north) / cell)), int(np.floor((north_edge - south) / cell)) + 1)
    cols = np.arange(int(np.floor((west - west_edge) / cell)), int(np.floor((east - west_edge) / cell)) + 1)
    lon, lat = region.grid.lonlat()
    row = np.floor((north_edge - lat) / cell).astype(int) - rows[0]
    col = np.floor((lon - west_edge) / cell).astype(int) - cols[0]
    labels = (row * len(cols) + col).ravel()
    return labels, north_edge - (rows + 0.5) * cell, west_edge + (cols + 0.5) * cell


def cell_means(fields: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Mean of each (..., y, x) field over the pixels of each of `n` cells (NaN for cells without pixels)."""
    count = np.bincount(labels, minlength=n)
    flat = fields.reshape(-1, labels.size)
    sums = np.stack([np.bincount(labels, weights=f.astype(np.float64), minlength=n) for f in flat])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count > 0, sums / count, np.nan)
    return means.reshape(fields.shape[:-2] + (n,))


def _entry(source: str, path: Path, root: Path, region: str, product_type: str, day: pd.Timestamp) -> dict:
    """An archive index entry of a written file."""
    data = path.read_bytes()
    return {
        "source": source,
        "name": path.name,
        "path": path.relative_to(root).as_posix(),
        "region": region,
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "product_type": product_type,
        "sensing_start": f"{day:%Y-%m-%d}T00:00:00Z",
        "sensing_stop": f"{day:%Y-%m-%d}T23:59:59Z",
    }


def csm_fields(
    region: RegionWorld, pass_days: pd.DatetimeIndex, labels: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw ssm (pass day, cell), raw ssm_noise (cell) and a per-cell flag code (0 where values exist)."""
    truth = region.truth
    days = pd.DatetimeIndex(truth["time"].values)
    where = days.get_indexer(pass_days)
    theta = cell_means(truth["sm"].values[where], labels, n)
    parcel = truth["parcel"].values.ravel()
    n_parcels = truth.sizes["parcel_id"]
    pixels_per_parcel = np.bincount(labels * n_parcels + parcel, minlength=n * n_parcels).reshape(n, n_parcels)
    count = pixels_per_parcel.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cover = (truth["parcel_fcover"].values[where] @ pixels_per_parcel.T) / count
    sigma = (
        rng.uniform(*CSM_DRY_DB, n)
        + CSM_SENSITIVITY_DB * theta
        + CSM_VEGETATION_DB * cover
        + rng.normal(0.0, CSM_NOISE_DB, theta.shape)
    )
    sigma = np.where(np.isfinite(sigma), sigma, 0.0)  # cells without pixels; flagged no-data below
    dry, wet = np.percentile(sigma, CSM_REFERENCE_PERCENTILES, axis=0) if len(where) else (np.zeros(n),) * 2
    spread = np.maximum(wet - dry, CSM_NOISE_DB)
    ssm = np.clip(100.0 * (sigma - dry) / spread, 0.0, 100.0)
    noise = np.clip(100.0 * CSM_NOISE_DB / spread, 0.0, 100.0)
    landcover = truth["landcover"].values.ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        water = np.bincount(labels, weights=np.isin(landcover, WATER_CODES), minlength=n) / count
        forest = np.bincount(labels, weights=np.isin(landcover, FOREST_CODES), minlength=n) / count
    flag = np.select([count == 0, water > 0.5, forest > 0.5], [cgls_ssm.FILL, 251, 252], 0).astype(np.uint8)
    raw_ssm = np.where(np.isfinite(ssm), np.round(ssm / 0.5), cgls_ssm.FILL).astype(np.uint8)
    raw_noise = np.where(np.isfinite(noise), np.round(noise / 0.5), cgls_ssm.FILL).astype(np.uint8)
    return raw_ssm, raw_noise, flag


def write_cgls_file(
    path: Path,
    day: pd.Timestamp,
    lat: np.ndarray,
    lon: np.ndarray,
    ssm: np.ndarray,
    noise: np.ndarray,
    version: str,
    history: str,
    baseline: str,
) -> None:
    """One daily CGLS SSM 1 km file of raw (lat, lon) uint8 fields, in the distribution's layout."""
    with atomic_path(path) as tmp, netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
        nc.setncatts(cgls_ssm.global_attributes(day, CSM_TILE, version, history, baseline))
        for name, size in (("time", None), ("lat", lat.size), ("lon", lon.size), ("string1", 1)):
            nc.createDimension(name, size)
        packing: dict[str, Any] = {"zlib": True, "complevel": 4, "shuffle": True}
        for name, values in (("lat", lat), ("lon", lon)):
            var = nc.createVariable(name, "f8", (name,), fill_value=np.nan, **packing)
            var.setncatts(cgls_ssm.COORDINATE_ATTRIBUTES[name])
            var[:] = values
        time = nc.createVariable("time", "f8", ("time",), fill_value=np.nan, chunksizes=(512,), **packing)
        time.setncatts(cgls_ssm.COORDINATE_ATTRIBUTES["time"])
        time[0:1] = [(pd.Timestamp(day) - pd.Timestamp("1970-01-01T12:00:00")) / pd.Timedelta(days=1)]
        crs = nc.createVariable("crs", "S1", ("string1",), contiguous=True)
        crs.setncatts(cgls_ssm.CRS_ATTRIBUTES)
        for name, values in (("ssm", ssm), ("ssm_noise", noise)):
            var = nc.createVariable(
                name,
                "u1",
                ("time", "lat", "lon"),
                fill_value=np.uint8(cgls_ssm.FILL),
                chunksizes=(1, lat.size, lon.size),
                **packing,
            )
            var.set_auto_maskandscale(False)  # the values are raw counts already
            var.setncatts(cgls_ssm.DATA_ATTRIBUTES[name])
            var[0:1] = values.reshape(1, lat.size, lon.size)


def write_csm(world: list[RegionWorld], passes: pd.DataFrame, dir: Path, version: str, seed: int) -> list[dict]:
    """Daily CSM files of every region (all days of the truth; values on its pass days, the `date`s of
    `passes` rows of its `region`, as sentinel1_schedule gives them) under dir/csm; returns index entries."""
    dir = Path(dir)
    entries = []
    for index, region in enumerate(world):
        name = region.spec.name
        days = pd.DatetimeIndex(region.truth["time"].values)
        pass_days = pd.DatetimeIndex(
            sorted(set(pd.to_datetime(passes.loc[passes["region"] == name, "date"]).dt.normalize()) & set(days))
        )
        labels, lat, lon = cell_layout(region, CGLS_LATTICE)
        n = lat.size * lon.size
        raw_ssm, raw_noise, flag = csm_fields(region, pass_days, labels, n, np.random.default_rng([seed, index, 112]))
        history = (
            f"soilsat demo world: change detection on simulated Sentinel-1 backscatter of the demo truth, "
            f"{days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}"
        )
        baseline = f"{days[0].year} - {days[-1].year}"
        for day in days:
            ssm = np.full(n, cgls_ssm.FILL, dtype=np.uint8)
            noise = ssm.copy()
            if day in pass_days:
                k = pass_days.get_loc(day)
                ssm = np.where(flag == 0, raw_ssm[k], flag).astype(np.uint8)
                noise = np.where(flag == 0, raw_noise, flag).astype(np.uint8)
            path = dir / "csm" / f"{Path(cgls_ssm.file_name(day, CSM_TILE, version)).stem}_{name}.nc"
            write_cgls_file(path, day, lat, lon, ssm, noise, version, history, baseline)
            entries.append(_entry("csm", path, dir, name, "SSM1km", day))
    return entries


def ecv_fields(region: RegionWorld, labels: np.ndarray, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Raw (day, cell) arrays of every ECV_SM variable of one region."""
    truth = region.truth
    days = pd.DatetimeIndex(truth["time"].values)
    theta = cell_means(truth["sm"].values, labels, n)
    smooth = pd.DataFrame(theta).rolling(ECV_SMOOTHING_DAYS, center=True, min_periods=1).mean().to_numpy()
    sm = np.clip(smooth + ECV_BIAS + rng.normal(0.0, ECV_NOISE_SD, theta.shape), 0.0, 1.0)
    frozen = (truth["tmean"].values < 0.0)[:, None] & np.ones(n, dtype=bool)
    gaps = (rng.random(theta.shape) < ECV_GAP_PROBABILITY) & ~frozen
    flag = np.select(
        [~np.isfinite(theta), frozen, gaps], [esacci_sm.FLAG_NO_DATA, ECV_FLAG_FROZEN, ECV_FLAG_NO_CONVERGENCE], 0
    ).astype(np.int8)
    valid = flag == 0
    day_number = ((days - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy()[:, None]
    observed = day_number + rng.uniform(0.2, 0.45, theta.shape)
    return {
        "t0": np.where(valid, observed, esacci_sm.FILL),
        "sm": np.where(valid, sm, esacci_sm.FILL).astype(np.float32),
        "sm_uncertainty": np.where(valid, ECV_NOISE_SD, esacci_sm.FILL).astype(np.float32),
        "dnflag": np.where(valid, ECV_DAY_NIGHT, 0).astype(np.int8),
        "flag": flag,
        "freqbandID": np.where(valid, ECV_FREQUENCY_BANDS, 0).astype(np.int16),
        "mode": np.where(valid, ECV_MODE, 0).astype(np.int8),
        "sensor": np.where(valid, ECV_SENSOR, 0).astype(np.int16),
    }


def write_esacci_file(
    path: Path, day: pd.Timestamp, lat: np.ndarray, lon: np.ndarray, fields: dict[str, np.ndarray], attrs: dict
) -> None:
    """One daily ESA CCI SM COMBINED file of raw (lat, lon) fields, in the distribution's layout."""
    day_number = (pd.Timestamp(day) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    with atomic_path(path) as tmp, netCDF4.Dataset(tmp, "w", format="NETCDF4_CLASSIC") as nc:
        nc.setncatts(attrs)
        for name, size in (("time", 1), ("lat", lat.size), ("lon", lon.size)):
            nc.createDimension(name, size)
        packing: dict[str, Any] = {"zlib": True, "complevel": 9, "shuffle": True}
        for name, values in (("lat", lat), ("lon", lon), ("time", [day_number])):
            var = nc.createVariable(name, "f4" if name != "time" else "f8", (name,), **packing)
            var.setncatts(esacci_sm.COORDINATE_ATTRIBUTES[name])
            var[:] = values
        for name, (dtype, fill, var_attrs) in esacci_sm.LAYOUT.items():
            var = nc.createVariable(
                name, dtype, ("time", "lat", "lon"), fill_value=fill, chunksizes=(1, lat.size, lon.size), **packing
            )
            extra = {"valid_range": np.array([day_number - 0.5, day_number + 0.5])} if name == "t0" else {}
            var.set_auto_maskandscale(False)
            var.setncatts(var_attrs | extra | {"_CoordinateAxes": "time lat lon"})
            var[:] = fields[name].reshape(1, lat.size, lon.size)


def write_ecv_sm(world: list[RegionWorld], dir: Path, version: str, seed: int) -> list[dict]:
    """Daily ECV_SM files of every region and day of the truth under dir/ecv_sm; returns index entries."""
    dir = Path(dir)
    entries = []
    for index, region in enumerate(world):
        name = region.spec.name
        days = pd.DatetimeIndex(region.truth["time"].values)
        labels, lat, lon = cell_layout(region, ESA_LATTICE)
        fields = ecv_fields(region, labels, lat.size * lon.size, np.random.default_rng([seed, index, 4]))
        history = f"soilsat demo world: ESA CCI SM COMBINED-like values from the demo truth (version {version})"
        for k, day in enumerate(days):
            file_name = esacci_sm.file_name(day, version)
            attrs = esacci_sm.global_attributes(
                day, version, history, str(uuid.uuid5(uuid.NAMESPACE_URL, file_name)), days[0], days[-1]
            )
            path = dir / "ecv_sm" / f"{Path(file_name).stem}_{name}.nc"
            write_esacci_file(
                path,
                day,
                lat.astype(np.float32),
                lon.astype(np.float32),
                {key: values[k] for key, values in fields.items()},
                attrs,
            )
            entries.append(_entry("ecv_sm", path, dir, name, "ESACCI-L3S-SSMV-COMBINED", day))
    return entries
