"""Zhang et al. (2022) protocol for soil organic carbon on the covariate windows and yearly phenology.

Four covariate groups (Table 4): climate and terrain alone (CNN), with the 11 phenology variables per year,
with the yearly mean EVI, and with both (CNN-LSTM); the random forest reference on the same groups (centre
pixel of the windows and the yearly values flattened). Both run under k-fold cross-validation x N repeats;
every repeat's predictions are kept, and their mean per sample is stored as repeat 'mean'. The paper
stratifies its folds by parent lithology (section 3.3), which soilsat's inputs do not carry: folds_by
`block` deals whole spatial blocks of block_m into the folds (samples whose windows overlap are tested
together), `random` deals samples. Standardisation statistics (inputs and target) come from each fold's
training samples only; missing values become 0 after standardisation (the training mean).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import xarray as xr

from soilsat.errors import ConfigError, ProductError
from soilsat.extract.covariates import EVI_MEAN, METRICS, PHENOLOGY
from soilsat.models.forest import ForestSettings, fit_forest
from soilsat.models.progress import epoch_logger
from soilsat.models.scaling import standard_stats
from soilsat.models.seeding import member_seed
from soilsat.models.splits import Fold, grouped_k_fold, k_fold
from soilsat.models.zhang.network import CnnLstm, CnnLstmSettings, train_model
from soilsat.settings import Settings

log = logging.getLogger(__name__)

# Covariate groups of Table 4: (phenology series, EVI series) added to the static covariates.
GROUPS: dict[str, tuple[bool, bool]] = {
    "static": (False, False),
    "static_phenology": (True, False),
    "static_EVI": (False, True),
    "static_phenology_EVI": (True, True),
}


@dataclass(frozen=True)
class SocData:
    """Windows (sample, covariate, wy, wx), yearly series (sample, year, metric) and the target."""

    samples: np.ndarray
    windows: np.ndarray
    series: np.ndarray
    metrics: tuple[str, ...]
    target: np.ndarray
    region: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class ProtocolSettings(Settings):
    """Covariates, groups and cross-validation of the protocol (config train.zhang)."""

    groups: tuple[str, ...]
    static_covariates: tuple[str, ...]
    folds: int
    repeats: int
    folds_by: str
    block_m: float


def soc_data(dataset: xr.Dataset, static: Sequence[str], target: str = "oc", source: str = "windows.nc") -> SocData:
    """The chosen static covariates' windows and the phenology/EVI series of every sample with a target."""
    for name in ("windows", "phenology", target):
        if name not in dataset.variables:
            raise ProductError(source, f"window dataset lacks variable {name!r}")
    covariates = [str(c) for c in dataset["covariate"].values]
    missing = [c for c in static if c not in covariates]
    if missing:
        raise ConfigError(f"config key train.zhang.static_covariates: {missing} not in {source} (it has {covariates})")
    if not static:
        raise ConfigError("config key train.zhang.static_covariates must name at least one covariate")
    windows = dataset["windows"].sel(covariate=list(static)).transpose("sample", "covariate", "wy", "wx").values
    metrics = METRICS
    series = dataset["phenology"].sel(metric=list(metrics)).transpose("sample", "year", "metric").values
    values = dataset[target].values.astype(float)
    usable = np.isfinite(values)
    if not usable.any():
        raise ProductError(source, f"no sample has a {target} value")
    region = dataset["region"].values if "region" in dataset.variables else np.full(len(values), "")
    x = dataset["sample_x"].values if "sample_x" in dataset.variables else np.zeros(len(values))
    y = dataset["sample_y"].values if "sample_y" in dataset.variables else np.zeros(len(values))
    return SocData(
        samples=dataset["sample"].values.astype(str)[usable],
        windows=windows[usable].astype(np.float32),
        series=series[usable].astype(np.float32),
        metrics=metrics,
        target=values[usable],
        region=np.asarray(region).astype(str)[usable],
        x=np.asarray(x, dtype=float)[usable],
        y=np.asarray(y, dtype=float)[usable],
    )


def group_series(data: SocData, group: str) -> np.ndarray | None:
    """The yearly series a covariate group feeds the LSTM, or None for the static group."""
    if group not in GROUPS:
        raise ConfigError(f"config key train.zhang.groups: unknown group {group!r}; choose from {list(GROUPS)}")
    phenology, evi = GROUPS[group]
    keep = [i for i, m in enumerate(data.metrics) if (phenology and m in PHENOLOGY) or (evi and m == EVI_MEAN)]
    return data.series[:, :, keep] if keep else None


def standardise(values: np.ndarray, train: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Standardise with the mean and spread of the training samples (over `axes`); missing values become 0."""
    if len(train) == 0:
        raise ValueError("empty training set: no sample to fit the standardisation on")
    mean, std = standard_stats(values[train], axis=axes)
    shape = [1 if a in axes else n for a, n in enumerate(values.shape)]
    return np.nan_to_num((values - mean.reshape(shape)) / std.reshape(shape), nan=0.0).astype(np.float32)


def fold_cnn_lstm(data: SocData, group: str, fold: Fold, settings: CnnLstmSettings, seed: int) -> np.ndarray:
    """Train the CNN(-LSTM) of a group on a fold's training samples; predictions on its test samples."""
    train, test = fold.train, fold.test
    if len(train) == 0:
        raise ValueError(f"empty training set in fold {fold.fold} of repeat {fold.repeat}")
    windows = torch.tensor(standardise(data.windows, train, (0, 2, 3)))
    yearly = group_series(data, group)
    series = None if yearly is None else torch.tensor(standardise(yearly, train, (0, 1)))
    mean, std = standard_stats(data.target[train])
    y = torch.tensor((data.target - mean) / std, dtype=torch.float32)
    torch.manual_seed(member_seed(seed, fold.repeat, fold.fold))
    model = CnnLstm(
        windows.shape[1],
        0 if series is None else series.shape[2],
        windows.shape[2],
        settings.units,
        settings.layers,
        settings.dropout,
    )
    label = f"CNN-LSTM {group} repeat {fold.repeat + 1} fold {fold.fold + 1}"
    train_model(
        model,
        windows[train],
        None if series is None else series[train],
        y[train],
        settings,
        member_seed(seed, fold.repeat, fold.fold, 1),
        epoch_logger(label, settings.epochs, log),
    )
    with torch.no_grad():
        predicted = model(windows[test], None if series is None else series[test]).numpy()
    return predicted * float(std) + float(mean)


def forest_features(data: SocData, group: str) -> np.ndarray:
    """Centre-pixel static covariates and the group's yearly values flattened, (sample, feature)."""
    centre = data.windows[:, :, data.windows.shape[2] // 2, data.windows.shape[3] // 2]
    series = group_series(data, group)
    return centre if series is None else np.concatenate([centre, series.reshape(len(series), -1)], axis=1)


def fold_forest(data: SocData, group: str, fold: Fold, forest: ForestSettings, seed: int, threads: int) -> np.ndarray:
    """The random forest of a group on a fold (missing values filled with training medians)."""
    if len(fold.train) == 0:
        raise ValueError(f"empty training set in fold {fold.fold} of repeat {fold.repeat}")
    x = forest_features(data, group)
    with np.errstate(all="ignore"):
        medians = np.nan_to_num(np.nanmedian(x[fold.train], axis=0), nan=0.0)
    x = np.where(np.isfinite(x), x, medians)
    model = fit_forest(
        x[fold.train], data.target[fold.train], forest, member_seed(seed, fold.repeat, fold.fold), threads
    )
    return model.predict(x[fold.test])


def with_repeat_means(predictions: pd.DataFrame) -> pd.DataFrame:
    """Append the mean over repeats of every sample's prediction as repeat 'mean'."""
    keys = ["model", "variant", "sample", "region", "observed"]
    mean = predictions.groupby(keys, sort=False, as_index=False)["predicted"].mean()
    mean["repeat"] = "mean"
    mean["fold"] = -1
    table = pd.concat([predictions.astype({"repeat": str}), mean[predictions.columns]], ignore_index=True)
    return table


def spatial_blocks(data: SocData, block_m: float) -> np.ndarray:
    """The spatial block of each sample: its region and the block_m square of its grid x and y."""
    col = np.floor(data.x / block_m).astype(int)
    row = np.floor(data.y / block_m).astype(int)
    return np.array([f"{r}:{i}:{j}" for r, i, j in zip(data.region, row, col)])


def cross_validation(data: SocData, protocol: ProtocolSettings, seed: int) -> list[Fold]:
    """The folds x repeats of the protocol: whole spatial blocks (folds_by block) or samples (random)."""
    if protocol.folds_by == "block":
        return grouped_k_fold(spatial_blocks(data, protocol.block_m), protocol.folds, protocol.repeats, seed)
    if protocol.folds_by == "random":
        return k_fold(len(data.target), protocol.folds, protocol.repeats, seed)
    raise ConfigError(f"config key train.zhang.folds_by: unknown {protocol.folds_by!r}; block or random")


def run_protocol(
    data: SocData,
    model: str,
    protocol: ProtocolSettings,
    network: CnnLstmSettings,
    forest: ForestSettings,
    seed: int,
    threads: int,
) -> pd.DataFrame:
    """k-fold CV x repeats of the CNN-LSTM ('cnn_lstm') or the forest ('rf') per group; tidy predictions."""
    if model not in ("cnn_lstm", "rf"):
        raise ConfigError(f"unknown Zhang 2022 model {model!r}; choose cnn_lstm or rf")
    folds, repeats = protocol.folds, protocol.repeats
    splits = cross_validation(data, protocol, seed)
    frames = []
    for group in protocol.groups:
        group_series(data, group)  # validates the name before any training
        for fold in splits:
            if model == "cnn_lstm":
                predicted = fold_cnn_lstm(data, group, fold, network, seed)
            else:
                predicted = fold_forest(data, group, fold, forest, seed, threads)
            frames.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "variant": group,
                        "repeat": fold.repeat,
                        "fold": fold.fold,
                        "sample": data.samples[fold.test],
                        "region": data.region[fold.test],
                        "observed": data.target[fold.test],
                        "predicted": predicted,
                    }
                )
            )
        done = pd.concat(frames[-len(splits) :])
        log.info(
            "%s %s: %d folds x %d repeats, RMSE %.3f",
            model,
            group,
            folds,
            repeats,
            float(np.sqrt(np.mean((done["predicted"] - done["observed"]) ** 2))),
        )
    return with_repeat_means(pd.concat(frames, ignore_index=True))
