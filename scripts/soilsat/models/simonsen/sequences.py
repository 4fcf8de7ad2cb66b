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

from soilsat.models.simonsen.inputs import InputSettings, variant_probes
from soilsat.models.simonsen.inputs import features as variant_features


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


def from_dataset(dataset: xr.Dataset, variant: str, inputs: InputSettings, target: str = "ssm") -> Sequences:
    """Arrays of one variant (its inputs as `soilsat.models.simonsen.inputs` defines them, on its probes)."""
    features = variant_features(dataset, variant, inputs)
    dataset = variant_probes(dataset, variant).transpose("probe", "time", ...)
    columns = []
    for name in features:
        values = dataset[name].values.astype(np.float32)
        if values.ndim == 1:
            values = np.repeat(values[:, None], dataset.sizes["time"], axis=1)
        columns.append(values)
    stacked = np.stack(columns, axis=-1) if columns else np.zeros((dataset.sizes["probe"], dataset.sizes["time"], 0))
    return Sequences(
        features=features,
        inputs=stacked.astype(np.float32),
        target=dataset[target].values.astype(np.float32),
        probes=dataset["probe"].values.astype(str),
        times=dataset["time"].values,
        region=dataset["region"].values.astype(str),
        landcover=dataset["landcover"].values.astype(int),
    )
