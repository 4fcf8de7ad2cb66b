"""The Simonsen (2021) protocol: leave one probe out, random validation probes, repeats, tidy predictions."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.models.simonsen.inputs import InputSettings
from soilsat.models.simonsen.lstm import LstmSettings, train_ensemble
from soilsat.models.simonsen.sequences import Sequences, from_dataset
from soilsat.models.splits import leave_one_probe_out

log = logging.getLogger(__name__)

MEAN = "mean"  # the `repeat` label of the repeat-averaged predictions


def tidy_predictions(
    seq: Sequences, probe: np.ndarray, repeat: np.ndarray, predicted: np.ndarray, model: str, variant: str
) -> pd.DataFrame:
    """One row per (member, day): model, variant, repeat, probe, time, region, landcover, observed, predicted."""
    members, days = predicted.shape
    return pd.DataFrame(
        {
            "model": model,
            "variant": variant,
            "repeat": np.repeat(repeat.astype(str), days),
            "probe": np.repeat(seq.probes[probe], days),
            "time": np.tile(seq.times, members),
            "region": np.repeat(seq.region[probe], days),
            "landcover": np.repeat(seq.landcover[probe], days),
            "observed": seq.target[probe].ravel(),
            "predicted": predicted.ravel(),
        }
    )


def with_mean(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per-repeat predictions plus their average per probe-day under repeat = 'mean'."""
    keys = ["model", "variant", "probe", "time", "region", "landcover"]
    mean = predictions.groupby(keys, as_index=False, sort=False).agg(
        observed=("observed", "first"), predicted=("predicted", "mean")
    )
    mean["repeat"] = MEAN
    return pd.concat([predictions, mean[predictions.columns]], ignore_index=True)


def run_lstm(
    dataset: xr.Dataset, variant: str, inputs: InputSettings, settings: LstmSettings, seed: int, device: str
) -> pd.DataFrame:
    """Leave-one-probe-out LSTM predictions of every probe-day, per repeat and averaged over repeats."""
    seq = from_dataset(dataset, variant, inputs)
    folds = leave_one_probe_out(len(seq.probes), settings.repeats, settings.validation_fraction, seed)
    log.info(
        "lstm %s: %d probes, %d members (folds x repeats) trained together on %s; inputs: %s",
        variant,
        len(seq.probes),
        len(folds),
        device,
        ", ".join(seq.features),
    )
    predicted, validation = train_ensemble(seq.inputs, seq.observed, seq.target, folds, settings, seed, device)
    log.info(
        "validation MAE per member: median %.4f, range %.4f-%.4f",
        *(np.nanmedian(validation), np.nanmin(validation), np.nanmax(validation)),
    )
    probe = np.array([f.test[0] for f in folds])
    repeat = np.array([f.repeat for f in folds])
    return with_mean(tidy_predictions(seq, probe, repeat, predicted, "lstm", variant))
