"""Probe x day x feature arrays for the sequence models, per variant of Simonsen (2021).

Missing inputs are handled explicitly: after scaling, a missing value is set to 0 (the training
mean) and every feature that has gaps anywhere in the dataset gets a 0/1 "observed" channel, so
the network can tell an imputed day from a day at the mean. Which features get such a channel is
decided from the inputs alone (never from the target), identically for every fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from soilsat.errors import ConfigError

DYNAMIC = (
    "sigma0_vv_db", "sigma0_vh_db", "incidence_angle", "ndvi", "ndwi",
    "precipitation", "dry_days", "tmin", "tmean", "tmax", "ts_max",
)
STATIC = ("elevation", "slope", "aspect_x", "aspect_y", "landcover", "clay", "silt", "sand", "organic_carbon")
AGRICULTURE_LANDCOVER = (211, 212)
VARIANTS: dict[str, tuple[str, ...]] = {
    "full": DYNAMIC + STATIC,
    "minimum": DYNAMIC + ("landcover",),
    "agriculture": DYNAMIC,
}


@dataclass(frozen=True)
class Sequences:
    """Inputs (probe, time, feature) with NaN where missing, target (probe, time) and per-probe labels."""

    features: tuple[str, ...]
    inputs: np.ndarray
    target: np.ndarray
    probes: np.ndarray
    times: np.ndarray
    region: np.ndarray
    landcover: np.ndarray

    @property
    def observed(self) -> np.ndarray:
        """0/1 channels for the features that have gaps (probe, time, gappy feature)."""
        gappy = np.isnan(self.inputs).any(axis=(0, 1))
        return (~np.isnan(self.inputs[:, :, gappy])).astype(np.float32)


def variant_features(variant: str) -> tuple[str, ...]:
    """The input features of a variant; an unknown variant is a ConfigError."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown model variant {variant!r}; choose one of {sorted(VARIANTS)}")
    return VARIANTS[variant]


def from_dataset(dataset: xr.Dataset, variant: str, target: str = "ssm") -> Sequences:
    """Arrays of one variant; the agriculture variant keeps only non-irrigated arable and irrigated probes."""
    features = variant_features(variant)
    missing = [name for name in (*features, target) if name not in dataset]
    if missing:
        raise ConfigError(f"probe dataset lacks variables {missing} needed by variant {variant!r}")
    if variant == "agriculture":
        keep = np.isin(dataset["landcover"].values.astype(int), AGRICULTURE_LANDCOVER)
        dataset = dataset.isel(probe=np.flatnonzero(keep))
    dataset = dataset.transpose("probe", "time", ...)
    columns = []
    for name in features:
        values = dataset[name].values.astype(np.float32)
        if values.ndim == 1:
            values = np.repeat(values[:, None], dataset.sizes["time"], axis=1)
        columns.append(values)
    inputs = np.stack(columns, axis=-1) if columns else np.zeros((dataset.sizes["probe"], dataset.sizes["time"], 0))
    return Sequences(
        features=features,
        inputs=inputs.astype(np.float32),
        target=dataset[target].values.astype(np.float32),
        probes=dataset["probe"].values.astype(str),
        times=dataset["time"].values,
        region=dataset["region"].values.astype(str),
        landcover=dataset["landcover"].values.astype(int),
    )
