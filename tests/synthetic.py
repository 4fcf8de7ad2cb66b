"""Small synthetic datasets in the layouts the demo world and the extract stage write, for the model and demo tests."""

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.extract.covariates import METRICS, STATIC
from soilsat.extract.samples import S2_BANDS
from soilsat.models.tziolas.samples import ClayData


def probe_dataset(n_probes: int = 5, n_days: int = 40, seed: int = 0) -> xr.Dataset:
    """A probe dataset with the extract stage's variables: soil moisture follows rain, sigma0 follows moisture."""
    rng = np.random.default_rng(seed)
    time = pd.date_range("2020-01-01", periods=n_days, freq="D")
    rain = rng.gamma(0.5, 4.0, (n_probes, n_days))
    ssm = 0.1 + 0.3 * (pd.DataFrame(rain.T).ewm(halflife=5).mean().to_numpy().T / 5.0).clip(0, 1)
    data = {"ssm": ssm.copy(), "precipitation": rain}
    data["ssm"][:, ::7] = np.nan
    vv = -15 + 20 * ssm + rng.normal(0, 0.5, ssm.shape)
    vv[:, 1::3] = np.nan
    data["sigma0_vv_db"] = vv
    data["sigma0_vh_db"] = vv - 6
    data["sigma0_vv"] = 10 ** (vv / 10)
    data["sigma0_vh"] = 10 ** ((vv - 6) / 10)
    data["incidence_angle"] = np.where(np.isnan(vv), np.nan, 38.0)
    for name in ("ndvi", "ndwi", "dry_days", "tmin", "tmean", "tmax", "ts_max"):
        data[name] = rng.normal(size=ssm.shape)
    ds = xr.Dataset(
        {k: (("probe", "time"), v.astype("float32")) for k, v in data.items()},
        coords={"probe": [f"p{i}" for i in range(n_probes)], "time": time},
    )
    for name in (
        "elevation",
        "slope",
        "aspect_x",
        "aspect_y",
        "base_saturation",
        "clay",
        "silt",
        "sand",
        "organic_carbon",
    ):
        ds[name] = ("probe", rng.normal(size=n_probes))
    ds["landcover"] = ("probe", np.array([211, 212, 311, 211, 231, 211, 211][:n_probes]))
    for code in sorted(set(ds["landcover"].values.tolist())):
        ds[f"landcover_{code}"] = ("probe", (ds["landcover"].values == code).astype(np.int8))
    ds.coords["region"] = ("probe", np.array(["a", "b"] * n_probes)[:n_probes])
    return ds


def samples_dataset(n: int = 30, n_obs: int = 6, seed: int = 0) -> xr.Dataset:
    """A sample x observation dataset in the extract stage's layout; clay darkens B11/B12."""
    rng = np.random.default_rng(seed)
    clay_pct = rng.uniform(5, 50, n)
    data = {}
    for k, band in enumerate(S2_BANDS):
        base = 0.1 + 0.02 * k - (0.003 if band in ("B11", "B12") else 0.0) * clay_pct
        data[band] = base[:, None] + rng.normal(0, 0.01, (n, n_obs))
    data["VV"] = -12 + 0.05 * clay_pct[:, None] + rng.normal(0, 0.5, (n, n_obs))
    data["VH"] = data["VV"] - 6
    data["VV"][:, -1] = np.nan  # an optical date without a Sentinel-1 pair
    for band in data:
        data[band][0, 3:] = np.nan  # a sample with fewer observations (padding)
    ds = xr.Dataset(
        {k: (("sample", "observation"), v.astype("float32")) for k, v in data.items()},
        coords={"sample": [f"s{i:02d}" for i in range(n)]},
    )
    ds["clay"] = ("sample", clay_pct)
    ds.coords["lat"] = ("sample", 55 + rng.uniform(0, 1, n))
    ds.coords["lon"] = ("sample", 9 + rng.uniform(0, 1, n))
    ds.coords["region"] = ("sample", np.array(["a", "b"] * n)[:n])
    return ds


def windows_dataset(n: int = 25, years: int = 2, seed: int = 0) -> xr.Dataset:
    """A window dataset in the extract stage's layout; organic carbon follows temperature and the mean EVI."""
    rng = np.random.default_rng(seed)
    windows = rng.normal(size=(n, len(STATIC), 5, 5)).astype("float32")
    phenology = rng.normal(size=(n, years, len(METRICS))).astype("float32")
    phenology[0, 0, :] = np.nan
    oc = 20 + 3 * windows[:, 0, 2, 2] + 2 * np.nan_to_num(phenology[:, :, -1]).mean(axis=1)
    ds = xr.Dataset(
        {
            "windows": (("sample", "covariate", "wy", "wx"), windows),
            "phenology": (("sample", "year", "metric"), phenology),
            "oc": ("sample", oc),
        },
        coords={
            "sample": [f"s{i:02d}" for i in range(n)],
            "covariate": list(STATIC),
            "year": 2018 + np.arange(years),
            "metric": list(METRICS),
        },
    )
    ds.coords["region"] = ("sample", np.array(["a", "b"] * n)[:n])
    ds.coords["sample_x"] = ("sample", rng.uniform(0, 2000, n))
    ds.coords["sample_y"] = ("sample", rng.uniform(0, 2000, n))
    return ds


def with_series(data: ClayData, series: np.ndarray) -> ClayData:
    """The same samples with other series values."""
    return ClayData(data.samples, series, data.channels, data.coords, data.target, data.region)
