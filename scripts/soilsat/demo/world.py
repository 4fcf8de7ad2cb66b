"""The synthetic demo world: one consistent truth from which every demo product is made.

Per region it holds terrain, CORINE-coded land cover on field parcels, soil texture and
organic carbon, daily weather and a daily soil-moisture field from a bucket model, and
per-parcel vegetation cover with tillage (bare-soil) periods. Probe sites and LUCAS-like
samples are drawn on it. All of it comes from one seeded generator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage
from scipy.spatial import cKDTree

from soilsat.cf_netcdf import CONVENTIONS
from soilsat.config import DEMO_PRESETS, period
from soilsat.grid import StudyGrid, cf_grid_mapping, region_grid

# CORINE Land Cover level-3 codes used by the demo world.
CORINE = {
    211: "Non-irrigated arable land",
    212: "Permanently irrigated land",
    231: "Pastures",
    311: "Broad-leaved forest",
    312: "Coniferous forest",
    333: "Sparsely vegetated areas",
    411: "Inland marshes",
    412: "Peat bogs",
    512: "Water bodies",
}

# Share of parcels per land-cover class, per climate.
LANDCOVER_SHARES = {
    "humid": {211: 0.50, 231: 0.25, 311: 0.08, 312: 0.08, 333: 0.03, 411: 0.05, 512: 0.01},
    "semiarid": {211: 0.45, 212: 0.12, 231: 0.12, 311: 0.06, 312: 0.05, 333: 0.19, 512: 0.01},
    "boreal": {211: 0.08, 231: 0.10, 311: 0.10, 312: 0.50, 333: 0.04, 412: 0.16, 512: 0.02},
    "mediterranean": {211: 0.55, 212: 0.10, 231: 0.08, 311: 0.08, 312: 0.03, 333: 0.15, 512: 0.01},
    "subtropical": {211: 0.35, 212: 0.15, 231: 0.10, 311: 0.20, 312: 0.10, 333: 0.03, 411: 0.04, 512: 0.03},
    "arid": {211: 0.06, 212: 0.06, 231: 0.28, 311: 0.02, 312: 0.02, 333: 0.55, 512: 0.01},
    "upland": {211: 0.30, 231: 0.40, 311: 0.12, 312: 0.10, 333: 0.05, 411: 0.02, 512: 0.01},
}
WETLANDS = (411, 412)  # placed in the wettest parcels, like water

# Climate parameters: temperature mean/amplitude (degC), wet-day probability winter/summer,
# mean rain on a wet day (mm), base elevation (m) and relief (m), clay and sand means (%).
# "upland" is the hilly region: slopes of up to about 25 degrees, and Sentinel-1 images formed with
# the terrain's radiometry (illuminated area per image pixel) and a gamma0 truth (soilsat.demo.sentinel1_pass).
CLIMATES = {
    "humid": dict(
        t_mean=8.5,
        t_amp=8.0,
        p_wet_winter=0.6,
        p_wet_summer=0.4,
        rain_mm=4.0,
        elevation=55.0,
        relief=25.0,
        clay=8.0,
        sand=70.0,
    ),
    "semiarid": dict(
        t_mean=12.5,
        t_amp=9.5,
        p_wet_winter=0.35,
        p_wet_summer=0.08,
        rain_mm=5.5,
        elevation=820.0,
        relief=60.0,
        clay=22.0,
        sand=45.0,
    ),
    "boreal": dict(
        t_mean=0.0,
        t_amp=13.0,
        p_wet_winter=0.55,
        p_wet_summer=0.5,
        rain_mm=3.0,
        elevation=190.0,
        relief=30.0,
        clay=5.0,
        sand=75.0,
    ),
    "mediterranean": dict(
        t_mean=14.5,
        t_amp=9.5,
        p_wet_winter=0.35,
        p_wet_summer=0.07,
        rain_mm=7.0,
        elevation=600.0,
        relief=80.0,
        clay=28.0,
        sand=35.0,
    ),
    "subtropical": dict(
        t_mean=16.0,
        t_amp=10.0,
        p_wet_winter=0.35,
        p_wet_summer=0.5,
        rain_mm=8.0,
        elevation=60.0,
        relief=40.0,
        clay=25.0,
        sand=30.0,
    ),
    "upland": dict(
        t_mean=7.5,
        t_amp=8.0,
        p_wet_winter=0.6,
        p_wet_summer=0.45,
        rain_mm=4.5,
        elevation=450.0,
        relief=80.0,
        clay=15.0,
        sand=50.0,
        terrain_backscatter=True,
    ),
    "arid": dict(
        t_mean=17.5,
        t_amp=9.0,
        p_wet_winter=0.12,
        p_wet_summer=0.18,
        rain_mm=6.0,
        elevation=1350.0,
        relief=60.0,
        clay=12.0,
        sand=60.0,
    ),
}


@dataclasses.dataclass(frozen=True)
class RegionSpec:
    """A region of the demo world: its centre, square AOI size, climate and the ISMN network of its probes."""

    name: str
    lon: float
    lat: float
    size_m: float
    climate: str
    network: str | None = None


@dataclasses.dataclass(frozen=True)
class WorldSpec:
    """Size and difficulty of the demo world; its defaults are the schema's, `default` preset (a test checks)."""

    regions: tuple[RegionSpec, ...]
    start: dt.date
    end: dt.date
    seed: int = 42
    margin_m: float = 500.0
    resolution: float = 10.0
    probes_per_region: int = 12
    lucas_samples: int = 300
    s1_repeat_days: int = 12
    s2_revisit_days: int = 5
    speckle_looks: float = 4.4
    cloud_fraction: float = 0.3
    probe_noise: float = 0.02

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorldSpec:
        """The world of a validated config's period, regions, grid and demo: the demo keys set, over its preset."""
        demo = config["demo"]
        preset = DEMO_PRESETS[demo["preset"]]
        size = {key: preset[key] if demo[key] is None else demo[key] for key in preset}
        start, end = period(config)
        regions = tuple(
            RegionSpec(r["name"], r["lon"], r["lat"], r["size_m"], r["climate"], r.get("network"))
            for r in config["regions"]
        )
        return cls(
            regions=regions,
            start=start,
            end=end,
            seed=demo["seed"],
            margin_m=config["grid"]["margin_m"],
            resolution=config["grid"]["resolution"],
            probes_per_region=int(size["probes_per_region"]),
            lucas_samples=int(size["lucas_samples"]),
            s1_repeat_days=int(size["s1_repeat_days"]),
            s2_revisit_days=int(size["s2_revisit_days"]),
            speckle_looks=float(size["speckle_looks"]),
            cloud_fraction=float(size["cloud_fraction"]),
            probe_noise=float(size["probe_noise"]),
        )

    @property
    def days(self) -> pd.DatetimeIndex:
        """Every day of the world, start to end."""
        return pd.date_range(self.start, self.end, freq="D")


@dataclasses.dataclass
class RegionWorld:
    """The truth of one region: a dataset on its study grid plus its probe and sample tables."""

    spec: RegionSpec
    grid: StudyGrid
    truth: xr.Dataset
    probes: pd.DataFrame
    samples: pd.DataFrame

    def fcover(self, day: pd.Timestamp | str) -> np.ndarray:
        """Vegetation cover fraction of every pixel on one day."""
        per_parcel = self.truth["parcel_fcover"].sel(time=pd.Timestamp(day)).values
        return per_parcel[self.truth["parcel"].values]

    def bare(self, day: pd.Timestamp | str) -> np.ndarray:
        """Whether each pixel is tilled bare soil on one day."""
        per_parcel = self.truth["parcel_bare"].sel(time=pd.Timestamp(day)).values
        return per_parcel[self.truth["parcel"].values]

    def soil_moisture(self, day: pd.Timestamp | str) -> np.ndarray:
        """Surface soil moisture (m3/m3) of every pixel on one day."""
        return self.truth["sm"].sel(time=pd.Timestamp(day).normalize()).values


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """A zero-mean, unit-variance Gaussian random field with the given correlation length."""
    noise = rng.standard_normal(shape)
    field = ndimage.gaussian_filter(noise, scale_px, mode="reflect")
    return (field - field.mean()) / field.std()


def make_weather(rng: np.random.Generator, days: pd.DatetimeIndex, climate: str) -> pd.DataFrame:
    """Daily precipitation (mm) and air temperature min/mean/max (degC) for one region."""
    c = CLIMATES[climate]
    doy = days.day_of_year.values
    season = np.cos(2 * np.pi * (doy - 200) / 365.25)  # +1 in mid-July
    anomaly = np.zeros(len(days))
    for i in range(1, len(days)):
        anomaly[i] = 0.8 * anomaly[i - 1] + rng.normal(0.0, 1.6)
    t_mean = c["t_mean"] + c["t_amp"] * season + anomaly
    dtr = 7.0 + 3.0 * (season + 1) / 2 + rng.normal(0, 1.0, len(days))
    p_wet = c["p_wet_winter"] + (c["p_wet_summer"] - c["p_wet_winter"]) * (season + 1) / 2
    wet = np.zeros(len(days), dtype=bool)
    for i in range(len(days)):
        persistence = 0.15 if (i > 0 and wet[i - 1]) else -0.1
        wet[i] = rng.random() < np.clip(p_wet[i] + persistence, 0.02, 0.95)
    precip = np.where(wet, rng.exponential(c["rain_mm"], len(days)), 0.0)
    return pd.DataFrame(
        {
            "precipitation": precip.round(1),
            "tmin": (t_mean - dtr / 2).round(1),
            "tmean": t_mean.round(1),
            "tmax": (t_mean + dtr / 2).round(1),
        },
        index=pd.Index(days, name="time"),
    )


def soil_temperature_max(weather: pd.DataFrame) -> np.ndarray:
    """Daily maximum soil temperature at 5 cm (degC): damped, lagged air temperature."""
    t = weather["tmax"].to_numpy()
    ts = np.empty_like(t)
    ts[0] = t[0]
    for i in range(1, len(t)):
        ts[i] = ts[i - 1] + 0.35 * (t[i] - 1.0 - ts[i - 1])
    return ts


def make_parcels(
    rng: np.random.Generator, grid: StudyGrid, climate: str, wetness: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Field parcels (Voronoi cells of about 250 m) and each parcel's CORINE code."""
    n_parcels = max(8, int(grid.width * grid.height * grid.resolution**2 / 250.0**2))
    seeds = rng.uniform(0, [grid.height, grid.width], size=(n_parcels, 2))
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    _, parcel = cKDTree(seeds).query(np.column_stack([rows.ravel(), cols.ravel()]))
    parcel = parcel.reshape(grid.shape).astype(np.int32)
    shares = LANDCOVER_SHARES[climate]
    codes = np.array(list(shares))
    classes = rng.choice(codes, size=n_parcels, p=np.array(list(shares.values())))
    # Water, marshes and bogs sit in the wettest parcels, whatever was drawn.
    parcel_wetness = ndimage.mean(wetness, labels=parcel, index=np.arange(n_parcels))
    wettest = np.argsort(parcel_wetness)[::-1]
    n_water = max(1, int(round(shares.get(512, 0.0) * n_parcels)))
    classes[np.isin(classes, [*WETLANDS, 512])] = 231
    classes[wettest[:n_water]] = 512
    placed = n_water
    for code in WETLANDS:
        n_wet = int(round(shares.get(code, 0.0) * n_parcels))
        classes[wettest[placed : placed + n_wet]] = code
        placed += n_wet
    return parcel, classes.astype(np.int16)


def parcel_phenology(
    rng: np.random.Generator, days: pd.DatetimeIndex, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Daily vegetation cover (time, parcel) and tilled bare-soil flags per parcel."""
    doy = days.day_of_year.values.astype(float)[:, None]
    n = len(classes)
    fcover = np.zeros((len(days), n), dtype=np.float32)
    bare = np.zeros((len(days), n), dtype=bool)

    def logistic(x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-x))

    arable = np.isin(classes, [211, 212])
    # Arable: spring sowing, summer harvest, tilled bare soil before sowing and after harvest.
    sow = rng.uniform(80, 130, n)
    harvest = sow + rng.uniform(110, 150, n)
    peak = rng.uniform(0.75, 0.92, n)
    growth = logistic((doy - sow - 35) / 8) * logistic((harvest - 15 - doy) / 6)
    crop = 0.05 + (peak - 0.05) * growth
    tilled = ((doy > sow - 30) & (doy < sow + 15)) | ((doy > harvest) & (doy < harvest + 45))
    winter_cover = 0.15 + 0.1 * rng.random(n)
    crop = np.where(tilled, 0.03, np.where((doy < sow - 30) | (doy > harvest + 45), winter_cover, crop))
    fcover[:, arable] = crop[:, arable]
    bare[:, arable] = tilled[:, arable]

    season = np.cos(2 * np.pi * (doy - 190) / 365.25)
    for code, base, amp in [
        (231, 0.65, 0.2),
        (311, 0.65, 0.25),
        (312, 0.85, 0.05),
        (333, 0.08, 0.04),
        (411, 0.6, 0.2),
        (412, 0.45, 0.15),
        (512, 0.0, 0.0),
    ]:
        sel = classes == code
        if sel.any():
            jitter = rng.uniform(-0.05, 0.05, sel.sum())
            fcover[:, sel] = np.clip(base + jitter + amp * season, 0, 0.98)
    bare[:, classes == 333] = True
    return fcover, bare


def soil_hydraulics(clay: np.ndarray, sand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wilting point, field capacity and porosity (m3/m3) from clay and sand (%)."""
    wilting = 0.02 + 0.0035 * clay
    capacity = 0.10 + 0.0045 * clay + 0.0015 * (100 - sand - clay)
    porosity = 0.40 + 0.0012 * clay
    return wilting, capacity, porosity


def bucket_model(
    weather: pd.DataFrame,
    fcover: np.ndarray,
    parcel: np.ndarray,
    classes: np.ndarray,
    clay: np.ndarray,
    sand: np.ndarray,
    wetness: np.ndarray,
) -> np.ndarray:
    """Daily surface soil moisture (time, y, x) in m3/m3 from a single-layer bucket."""
    depth_mm = 80.0
    wilting, capacity, porosity = soil_hydraulics(clay, sand)
    irrigated = np.isin(classes[parcel], [212])
    open_water = classes[parcel] == 512
    marsh = np.isin(classes[parcel], WETLANDS)
    theta = capacity * 0.9
    out = np.empty((len(weather),) + parcel.shape, dtype=np.float32)
    tmean = weather["tmean"].to_numpy()
    precip = weather["precipitation"].to_numpy()
    dtr = (weather["tmax"] - weather["tmin"]).to_numpy()
    doy = weather.index.day_of_year.to_numpy()
    for i in range(len(weather)):
        veg = fcover[i][parcel]
        pet = max(0.0, 0.0023 * 17 * (tmean[i] + 17.8) * np.sqrt(max(dtr[i], 0.1)) * 0.6)
        stress = np.clip((theta - wilting) / (capacity - wilting), 0, 1)
        evap = pet * stress * (0.55 + 0.45 * veg)
        infiltration = precip[i] * (1 - 0.25 * veg)
        if 140 <= doy[i] <= 250:
            infiltration = infiltration + np.where(irrigated & (theta < capacity * 0.6), 12.0, 0.0)
        theta = theta + (infiltration - evap) / depth_mm
        drainage = np.clip(theta - capacity, 0, None) * 0.45
        theta = theta - drainage + 0.0025 * wetness
        theta = np.clip(theta, wilting * 0.6, porosity)
        theta = np.where(marsh, np.maximum(theta, capacity), theta)
        out[i] = np.where(open_water, porosity, theta)
    return out


def place_probes(
    rng: np.random.Generator, grid: StudyGrid, landcover: np.ndarray, n: int, margin_px: int, region: str
) -> pd.DataFrame:
    """Probe sites on land (not water or marsh; peat bogs hold probes, as in ICOS and FMI), inside the AOI,
    at least 300 m apart."""
    ok = ~np.isin(landcover, [512, 411])
    ok[:margin_px, :] = ok[-margin_px:, :] = False
    ok[:, :margin_px] = ok[:, -margin_px:] = False
    candidates = np.argwhere(ok)
    chosen: list[np.ndarray] = []
    for idx in rng.permutation(len(candidates)):
        rc = candidates[idx]
        if all(np.hypot(*(rc - c)) * grid.resolution >= 300 for c in chosen):
            chosen.append(rc)
        if len(chosen) == n:
            break
    rows, cols = np.array(chosen).T
    x = grid.x_coords()[cols]
    y = grid.y_coords()[rows]
    lon, lat = _to_lonlat(grid, x, y)
    return pd.DataFrame(
        {
            "probe": [f"{region}-{i + 1:02d}" for i in range(len(rows))],
            "region": region,
            "x": x,
            "y": y,
            "lon": lon,
            "lat": lat,
            "row": rows,
            "col": cols,
            "landcover": landcover[rows, cols],
            # Every third site has two sensors a few metres apart (averaged as one site).
            "sensors": np.where(np.arange(len(rows)) % 3 == 2, 2, 1),
        }
    )


def place_samples(
    rng: np.random.Generator, grid: StudyGrid, truth: xr.Dataset, n: int, margin_px: int, region: str
) -> pd.DataFrame:
    """LUCAS-like topsoil samples on arable land with lab-measured texture and carbon."""
    landcover = truth["landcover"].values
    ok = np.isin(landcover, [211, 212])
    ok[:margin_px, :] = ok[-margin_px:, :] = False
    ok[:, :margin_px] = ok[:, -margin_px:] = False
    candidates = np.argwhere(ok)
    pick = candidates[rng.choice(len(candidates), size=min(n, len(candidates)), replace=False)]
    rows, cols = pick.T
    x = grid.x_coords()[cols]
    y = grid.y_coords()[rows]
    lon, lat = _to_lonlat(grid, x, y)
    clay = np.clip(truth["clay"].values[rows, cols] + rng.normal(0, 1.0, len(rows)), 0.5, 80)
    sand = np.clip(truth["sand"].values[rows, cols] + rng.normal(0, 1.5, len(rows)), 1, 95)
    silt = np.clip(100 - clay - sand, 0, 100)
    soc = np.clip(truth["soc"].values[rows, cols] + rng.normal(0, 0.8, len(rows)), 0.5, None)
    return pd.DataFrame(
        {
            "point_id": [f"{region[:2].upper()}{i + 1:05d}" for i in range(len(rows))],
            "region": region,
            "lon": lon,
            "lat": lat,
            "row": rows,
            "col": cols,
            "clay": clay.round(1),
            "silt": silt.round(1),
            "sand": sand.round(1),
            "oc": soc.round(1),
        }
    )


def _to_lonlat(grid: StudyGrid, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import pyproj

    t = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(x, y)
    return np.round(lon, 6), np.round(lat, 6)


def make_region(spec: WorldSpec, region: RegionSpec, index: int) -> RegionWorld:
    """Generate the truth of one region."""
    rng = np.random.default_rng([spec.seed, index])
    grid = region_grid(region.name, region.lon, region.lat, region.size_m, spec.margin_m, spec.resolution)
    c = CLIMATES[region.climate]
    days = spec.days
    px = 1.0 / spec.resolution
    relief = smooth_field(rng, grid.shape, 400 * px)
    elevation = c["elevation"] + c["relief"] * relief + 3.0 * smooth_field(rng, grid.shape, 60 * px)
    # Wetness: low, concave places collect water (a crude topographic index, unitless).
    wetness = -relief + 0.5 * ndimage.laplace(ndimage.gaussian_filter(relief, 30 * px)) * 50
    wetness = (wetness - wetness.mean()) / wetness.std()
    parcel, classes = make_parcels(rng, grid, region.climate, wetness)
    landcover = classes[parcel]
    clay = np.clip(c["clay"] * (1 + 0.35 * smooth_field(rng, grid.shape, 300 * px)) + 2.0 * wetness, 1, 70)
    sand = np.clip(
        c["sand"] * (1 + 0.15 * smooth_field(rng, grid.shape, 300 * px)) - 0.5 * clay + c["clay"] * 0.5, 2, 95
    )
    sand = np.minimum(sand, 98 - clay)
    silt = 100 - clay - sand
    soc_by_class = {211: 12.0, 212: 10.0, 231: 22.0, 311: 35.0, 312: 40.0, 333: 5.0, 411: 60.0, 412: 90.0, 512: 0.0}
    soc = np.vectorize(soc_by_class.get)(landcover).astype(float)
    soc = np.clip(soc * (1 + 0.2 * smooth_field(rng, grid.shape, 150 * px)) + 0.25 * clay + 3 * wetness, 0.5, None)
    weather = make_weather(rng, days, region.climate)
    fcover, bare = parcel_phenology(rng, days, classes)
    sm = bucket_model(weather, fcover, parcel, classes, clay, sand, wetness)
    ts_max = soil_temperature_max(weather)

    metres = {"units": "m"}
    coords = {
        "y": (
            "y",
            grid.y_coords(),
            {"standard_name": "projection_y_coordinate", "axis": "Y", "long_name": "pixel centre northing", **metres},
        ),
        "x": (
            "x",
            grid.x_coords(),
            {"standard_name": "projection_x_coordinate", "axis": "X", "long_name": "pixel centre easting", **metres},
        ),
        "time": days,
        "parcel_id": ("parcel_id", np.arange(len(classes)), {"long_name": "field parcel index"}),
        "spatial_ref": ((), np.int32(0), cf_grid_mapping(grid.crs)),
    }
    on_grid = {"grid_mapping": "spatial_ref"}
    truth = xr.Dataset(
        {
            "elevation": (
                ("y", "x"),
                elevation.astype(np.float32),
                {"units": "m", "long_name": "height above the WGS 84 ellipsoid", **on_grid},
            ),
            "landcover": (
                ("y", "x"),
                landcover,
                {"units": "1", "long_name": "CORINE Land Cover level-3 code", **on_grid},
            ),
            "parcel": (("y", "x"), parcel, {"units": "1", "long_name": "field parcel index", **on_grid}),
            "clay": (
                ("y", "x"),
                clay.astype(np.float32),
                {"units": "%", "long_name": "topsoil clay content", **on_grid},
            ),
            "sand": (
                ("y", "x"),
                sand.astype(np.float32),
                {"units": "%", "long_name": "topsoil sand content", **on_grid},
            ),
            "silt": (
                ("y", "x"),
                silt.astype(np.float32),
                {"units": "%", "long_name": "topsoil silt content", **on_grid},
            ),
            "soc": (
                ("y", "x"),
                soc.astype(np.float32),
                {"units": "g kg-1", "long_name": "soil organic carbon", **on_grid},
            ),
            "wetness": (
                ("y", "x"),
                wetness.astype(np.float32),
                {"units": "1", "long_name": "topographic wetness (standardised)", **on_grid},
            ),
            "sm": (("time", "y", "x"), sm, {"units": "m3 m-3", "long_name": "surface soil moisture 0-5 cm", **on_grid}),
            "parcel_class": (("parcel_id",), classes, {"units": "1", "long_name": "CORINE code of the parcel"}),
            "parcel_fcover": (
                ("time", "parcel_id"),
                fcover,
                {"units": "1", "long_name": "vegetation cover fraction of the parcel"},
            ),
            "parcel_bare": (
                ("time", "parcel_id"),
                bare,
                {"units": "1", "long_name": "1 on the parcel's bare-soil (tillage) days"},
            ),
            "precipitation": (
                ("time",),
                weather["precipitation"].to_numpy(),
                {"units": "mm", "long_name": "daily precipitation sum"},
            ),
            "tmin": (
                ("time",),
                weather["tmin"].to_numpy(),
                {"units": "degC", "long_name": "daily minimum air temperature"},
            ),
            "tmean": (
                ("time",),
                weather["tmean"].to_numpy(),
                {"units": "degC", "long_name": "daily mean air temperature"},
            ),
            "tmax": (
                ("time",),
                weather["tmax"].to_numpy(),
                {"units": "degC", "long_name": "daily maximum air temperature"},
            ),
            "soil_temperature_max": (
                ("time",),
                ts_max.astype(np.float32),
                {"units": "degC", "long_name": "daily maximum soil temperature at 5 cm"},
            ),
        },
        coords=coords,
        attrs={
            "title": f"soilsat demo world truth, region {region.name}",
            "region": region.name,
            "climate": region.climate,
            "crs": grid.crs,
            "transform": list(grid.transform)[:6],
            "Conventions": CONVENTIONS,
            "history": "generated by the soilsat demo world",
        },
    )
    margin_px = int(spec.margin_m / spec.resolution) + 5
    probes = place_probes(rng, grid, landcover, spec.probes_per_region, margin_px, region.name)
    samples = place_samples(rng, grid, truth, spec.lucas_samples // len(spec.regions), margin_px, region.name)
    return RegionWorld(spec=region, grid=grid, truth=truth, probes=probes, samples=samples)


def default_workers() -> int:
    """Worker processes of the demo writers: up to 2 of the CPUs this process may use."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(2, cpus)


def make_world(spec: WorldSpec, workers: int = 1) -> list[RegionWorld]:
    """Generate every region of the demo world, `workers` regions at a time (threads: the daily
    water balance is whole-grid numpy work that runs outside the GIL)."""
    if workers > 1 and len(spec.regions) > 1:
        import concurrent.futures as cf

        with cf.ThreadPoolExecutor(min(workers, len(spec.regions))) as pool:
            futures = [pool.submit(make_region, spec, region, i) for i, region in enumerate(spec.regions)]
            return [future.result() for future in futures]
    return [make_region(spec, region, i) for i, region in enumerate(spec.regions)]


def sentinel1_schedule(spec: WorldSpec) -> pd.DataFrame:
    """Sentinel-1 passes over each region: date, orbit direction and relative orbit."""
    rows = []
    for i, region in enumerate(spec.regions):
        # Relative orbits of Sentinel-1 run 1..175; the offsets keep the first regions' orbits apart.
        passes = [("ASCENDING", 2 + i, (14 + 44 * i) % 175 + 1), ("DESCENDING", 5 + i, (138 - 37 * i) % 175 + 1)]
        for direction, offset, rel_orbit in passes:
            day = pd.Timestamp(spec.start) + pd.Timedelta(days=offset % spec.s1_repeat_days)
            while day <= pd.Timestamp(spec.end):
                rows.append({"region": region.name, "date": day, "direction": direction, "relative_orbit": rel_orbit})
                day += pd.Timedelta(days=spec.s1_repeat_days)
    return pd.DataFrame(rows).sort_values(["region", "date", "direction"]).reset_index(drop=True)


def sentinel2_schedule(spec: WorldSpec) -> pd.DataFrame:
    """Sentinel-2 overpasses of each region's tile: date and spacecraft."""
    rows = []
    for i, region in enumerate(spec.regions):
        day = pd.Timestamp(spec.start) + pd.Timedelta(days=(1 + i) % spec.s2_revisit_days)
        k = 0
        while day <= pd.Timestamp(spec.end):
            rows.append({"region": region.name, "date": day, "platform": "S2A" if k % 2 == 0 else "S2B"})
            day += pd.Timedelta(days=spec.s2_revisit_days)
            k += 1
    return pd.DataFrame(rows)
