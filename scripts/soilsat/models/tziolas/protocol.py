"""The Tziolas et al. (2020) protocol for topsoil clay: Kennard-Stone split, bags and the bagged networks.

Kennard-Stone 80/20 split on the mean Sentinel-2 spectra; bootstrap aggregation without replacement for
every algorithm (§2.3.4): the multi-input CNN, the random forest and the ANN each train one model per bag
of the calibration set, the same bags for all three, and predict the test set with the mean over bags.
Each algorithm runs the paper's variants: the CNN with and without coordinates and SAR (Fig 9C/9F,
Appendix B); the RF and the ANN on median Sentinel-2 spectra with and without coordinates (Fig 9A/9B/9D/
9E) and on the Sentinel-1 + Sentinel-2 values of every observation date with coordinates (Appendix A).
The target is scaled to [-1, 1] (the networks' tanh output) with the range of the calibration samples.
The random forest is in :mod:`soilsat.models.tziolas.forest`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch
import xarray as xr

from soilsat.errors import ConfigError
from soilsat.models.progress import epoch_logger
from soilsat.models.scaling import from_unit_range, range_stats, to_unit_range
from soilsat.models.seeding import member_seed
from soilsat.models.splits import bags, kennard_stone_split
from soilsat.models.tziolas.networks import Ann, ModelT, MultiInputCnn, NetworkSettings, train_model
from soilsat.models.tziolas.samples import (
    CNN_VARIANTS,
    TABLE_VARIANTS,
    ClayData,
    ann_inputs,
    clay_data,
    cnn_inputs,
    mean_spectra,
)
from soilsat.settings import Settings

log = logging.getLogger(__name__)

# Seed keys of the three algorithms, so that their members never share a torch or forest seed.
CNN_KEY, ANN_KEY, RF_KEY = 0, 1, 2


@dataclass(frozen=True)
class ProtocolSettings(Settings):
    """Samples, split and bags shared by the three algorithms (config train.tziolas)."""

    observations: int
    calibration_fraction: float
    bags: int
    bag_fraction: float


@dataclass(frozen=True)
class Split:
    """The samples of a run: their series, the Kennard-Stone calibration and test sets, and the bags."""

    data: ClayData
    calibration: np.ndarray
    test: np.ndarray
    bags: list[np.ndarray]


def calibration_split(data: ClayData, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Kennard-Stone calibration and test indices on the mean spectra."""
    return kennard_stone_split(mean_spectra(data), fraction)


def split_samples(dataset: xr.Dataset, settings: ProtocolSettings, seed: int, source: str) -> Split:
    """The usable samples of a sample dataset, split into calibration and test sets, and the calibration bags."""
    data = clay_data(dataset, settings.observations, source=source)
    calibration, test = calibration_split(data, settings.calibration_fraction)
    return Split(data, calibration, test, bags(calibration, settings.bags, settings.bag_fraction, seed))


def check_variants(variants: Sequence[str], known: Mapping[str, object], key: str) -> None:
    """Raise ConfigError naming the config key when a variant is not one of the known ones."""
    unknown = [v for v in variants if v not in known]
    if unknown:
        raise ConfigError(f"config key {key}: unknown {unknown}; choose from {list(known)}")


def last_layer_activations(model: MultiInputCnn, spectral: np.ndarray, samples: Sequence[str]) -> pd.DataFrame:
    """Mean ReLU activation of every filter of the last convolution layer over the observed positions, per sample."""
    with torch.no_grad():
        maps, observed = model.last_maps(torch.tensor(spectral))
    positions = observed.sum(dim=(2, 3)) * maps.shape[2]
    values = (maps.sum(dim=(2, 3)) / positions).numpy()
    n_samples, n_filters = values.shape
    return pd.DataFrame(
        {
            "sample": np.repeat(np.asarray(samples), n_filters),
            "filter": np.tile(np.arange(n_filters), n_samples),
            "activation": values.ravel(),
        }
    )


def prediction_rows(data: ClayData, test: np.ndarray, predicted: np.ndarray, model: str, variant: str) -> pd.DataFrame:
    """The tidy predictions of one model variant on the test samples."""
    return pd.DataFrame(
        {
            "model": model,
            "variant": variant,
            "sample": data.samples[test],
            "region": data.region[test],
            "observed": data.target[test],
            "predicted": np.asarray(predicted, dtype=float),
        }
    )


def member_rows(
    data: ClayData, test: np.ndarray, outputs: Sequence[np.ndarray], model: str, variant: str
) -> pd.DataFrame:
    """The test predictions of every bag (member) of one model variant, for the spread of the ensemble."""
    return pd.concat(
        [prediction_rows(data, test, predicted, model, variant).assign(bag=b) for b, predicted in enumerate(outputs)],
        ignore_index=True,
    )


def target_ranges(data: ClayData, calibration: np.ndarray) -> tuple[float, float]:
    """Range of the target over the calibration samples (for the tanh output)."""
    if len(calibration) == 0:
        raise ValueError("empty training set: the calibration split holds no sample")
    return range_stats(data.target[calibration])


def bagged_networks(
    build: Callable[[], ModelT],
    x: np.ndarray,
    coords: np.ndarray | None,
    y: np.ndarray,
    members: Sequence[np.ndarray],
    test: np.ndarray,
    settings: NetworkSettings,
    seed: int,
    key: Sequence[int],
    label: str,
    bag_outputs: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, list[ModelT]]:
    """One network per bag (seeds from `seed` and `key`): the mean test prediction (scaled) and the networks;
    each bag's own test prediction (scaled) is appended to `bag_outputs` where given."""
    if len(members) == 0:
        raise ConfigError("config key train.tziolas.bags must be at least 1")
    x_t = torch.tensor(x)
    c_t = None if coords is None else torch.tensor(coords)
    y_t = torch.tensor(y, dtype=torch.float32)
    outputs, models = [], []
    for b, bag in enumerate(members):
        torch.manual_seed(member_seed(seed, *key, b))
        model = build()
        progress = epoch_logger(f"{label} bag {b + 1}/{len(members)} ({len(bag)} samples)", settings.epochs)
        train_model(
            model,
            x_t[bag],
            None if c_t is None else c_t[bag],
            y_t[bag],
            settings,
            member_seed(seed, *key, b, 1),
            progress,
        )
        with torch.no_grad():
            outputs.append(model(x_t[test], None if c_t is None else c_t[test]).numpy())
        models.append(model)
    if bag_outputs is not None:
        bag_outputs.extend(outputs)
    return np.mean(outputs, axis=0), models


def run_cnn(
    data: ClayData,
    calibration: np.ndarray,
    test: np.ndarray,
    members: Sequence[np.ndarray],
    settings: NetworkSettings,
    seed: int,
    variants: Sequence[str],
    bag_predictions: list[pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bagged CNN of each variant: test predictions, and last-layer activations (first variant, first bag); each
    bag's test predictions are appended to `bag_predictions` where given (member_rows)."""
    check_variants(variants, CNN_VARIANTS, "train.tziolas.variants")
    low, high = target_ranges(data, calibration)
    y = to_unit_range(data.target, low, high)
    frames, activations = [], pd.DataFrame(columns=["sample", "filter", "activation"])
    for variant in variants:
        inputs = CNN_VARIANTS[variant]
        spectral, coords = cnn_inputs(data, calibration, inputs)
        n_channels, n_observations = spectral.shape[2:]
        outputs: list[np.ndarray] = []
        scaled, models = bagged_networks(
            partial(MultiInputCnn, n_channels, n_observations, inputs.coordinates),
            spectral,
            coords,
            y,
            members,
            test,
            settings,
            seed,
            (CNN_KEY, list(CNN_VARIANTS).index(variant)),
            f"CNN {variant} ({n_channels} channels)",
            outputs,
        )
        if variant == variants[0]:
            activations = last_layer_activations(models[0], spectral[calibration], data.samples[calibration])
        frames.append(prediction_rows(data, test, from_unit_range(scaled, low, high), "cnn", variant))
        if bag_predictions is not None:
            bag_predictions.append(
                member_rows(data, test, [from_unit_range(o, low, high) for o in outputs], "cnn", variant)
            )
    return pd.concat(frames, ignore_index=True), activations


def run_ann(
    data: ClayData,
    calibration: np.ndarray,
    test: np.ndarray,
    members: Sequence[np.ndarray],
    settings: NetworkSettings,
    seed: int,
    variants: Sequence[str],
    bag_predictions: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Bagged ANN of each variant on median spectra or per-date values: test predictions; each bag's test
    predictions are appended to `bag_predictions` where given (member_rows)."""
    check_variants(variants, TABLE_VARIANTS, "train.tziolas.ann.variants")
    low, high = target_ranges(data, calibration)
    y = to_unit_range(data.target, low, high)
    frames = []
    for variant in variants:
        inputs = TABLE_VARIANTS[variant]
        x = ann_inputs(data, calibration, inputs)
        n_inputs = x.shape[-1]
        outputs: list[np.ndarray] = []
        scaled, _ = bagged_networks(
            partial(Ann, n_inputs, masked=inputs.per_date),
            x,
            None,
            y,
            members,
            test,
            settings,
            seed,
            (ANN_KEY, list(TABLE_VARIANTS).index(variant)),
            f"ANN {variant} ({n_inputs} inputs)",
            outputs,
        )
        frames.append(prediction_rows(data, test, from_unit_range(scaled, low, high), "ann", variant))
        if bag_predictions is not None:
            bag_predictions.append(
                member_rows(data, test, [from_unit_range(o, low, high) for o in outputs], "ann", variant)
            )
    return pd.concat(frames, ignore_index=True)
