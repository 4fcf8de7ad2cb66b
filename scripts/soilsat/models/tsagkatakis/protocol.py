"""Tsagkatakis et al. (2021) protocol: the fusion CNN trained on in-situ probes and the SMAP L2 9 km product,
scored with the SMAP/Sentinel-1 L2 1 km product on the same validation probes.

Validation is held out in space, never by date alone: a seeded share of the probe locations (holdout
`location`: their in-situ values never enter the probe loss, on any date; the network still sees their inputs,
as it sees every pixel of a patch) or of the patches' places (holdout `patch`: region and position, on every
date). The 9 km loss uses every patch, since it needs no in-situ value. Each input band is standardised by
the statistics of the training patches; gaps become 0 (the training mean).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import xarray as xr
from torch import nn

from soilsat.cf_netcdf import CONVENTIONS
from soilsat.errors import ConfigError
from soilsat.evaluate.metrics import grouped_scores, metrics_table
from soilsat.models.tsagkatakis.network import FusionCnn, cell_means, fusion_loss, parameter_count
from soilsat.models.tsagkatakis.patches import BAND_ATTRS, BANDS, Patches
from soilsat.settings import Settings

log = logging.getLogger(__name__)

VARIANTS = ("fusion_cnn", "spl2smap_s")


@dataclasses.dataclass(frozen=True)
class FusionSettings(Settings):
    """Hold-out, network and training settings (config train.tsagkatakis)."""

    holdout: str
    validation_fraction: float
    alpha: float
    epochs: int
    batch_size: int
    learning_rate: float
    dropout: float
    filters: int
    blocks: int
    kernel_size: int


@dataclasses.dataclass(frozen=True)
class Split:
    """Which probe locations score validation, and which patches train."""

    validation_locations: frozenset[str]
    training_patches: np.ndarray  # bool per patch
    validation_patches: np.ndarray  # bool per patch

    def entry_split(self, patches: Patches) -> np.ndarray:
        """'training' or 'validation' per probe entry."""
        entries = patches.entries
        held = (
            entries["location"].isin(self.validation_locations).to_numpy()
            | self.validation_patches[entries["patch"].to_numpy()]
        )
        return np.where(held, "validation", "training")

    def training_grid(self, patches: Patches) -> np.ndarray:
        """The probe grid of the training probes (NaN at validation locations and on validation patches)."""
        locations = sorted(set(patches.entries["location"]) - self.validation_locations)
        grid = patches.probe_grid(locations)
        grid[self.validation_patches] = np.nan
        return grid


def held_share(count: int, fraction: float, what: str) -> int:
    """How many of `count` items a validation fraction holds out (at least one each way)."""
    if count < 2:
        raise ValueError(f"{count} {what}: need at least 2 to train and validate")
    return min(max(1, int(round(fraction * count))), count - 1)


def split(patches: Patches, settings: FusionSettings, seed: int) -> Split:
    """The seeded spatial hold-out of train.tsagkatakis.holdout."""
    rng = np.random.default_rng([seed, 2021])
    if settings.holdout == "location":
        locations = np.array(sorted(set(patches.entries["location"])))
        held = rng.permutation(locations)[: held_share(len(locations), settings.validation_fraction, "probe locations")]
        every = np.ones(len(patches.index), dtype=bool)
        return Split(frozenset(held), every, np.zeros_like(every))
    if settings.holdout == "patch":
        places = (
            patches.index["region"] + ":" + patches.index["row"].astype(str) + ":" + patches.index["col"].astype(str)
        )
        unique = np.array(sorted(set(places)))
        held_places = rng.permutation(unique)[: held_share(len(unique), settings.validation_fraction, "patch places")]
        validation = places.isin(set(held_places)).to_numpy()
        return Split(frozenset(), ~validation, validation)
    raise ConfigError(f"config key train.tsagkatakis.holdout: unknown hold-out {settings.holdout!r}; location or patch")


def standardised_inputs(patches: Patches, train: np.ndarray) -> torch.Tensor:
    """The network's input stack, each band standardised by its training-patch statistics, gaps set to 0."""
    values = patches.inputs[train].astype(np.float64)
    mean = np.nanmean(values, axis=(0, 2, 3), keepdims=True)
    std = np.nanstd(values, axis=(0, 2, 3), keepdims=True)
    mean, std = np.nan_to_num(mean), np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return torch.from_numpy(np.nan_to_num((patches.inputs - mean) / std).astype(np.float32))


def build_network(n_inputs: int, settings: FusionSettings) -> FusionCnn:
    """The fusion CNN of the settings."""
    return FusionCnn(n_inputs, settings.filters, settings.blocks, settings.dropout, settings.kernel_size)


def train_fusion(
    inputs: torch.Tensor,
    probe_grid: np.ndarray,
    target: np.ndarray,
    cells: np.ndarray,
    settings: FusionSettings,
    seed: int,
) -> FusionCnn:
    """Fit the fusion network with the composite loss: the probe loss at probe_grid's values (the training
    probes), the 9 km loss against each patch's SMAP L2 soil moisture (`target`) over its `cells`."""
    torch.manual_seed(seed)
    model = build_network(inputs.shape[1], settings)
    log.info("fusion CNN: %d trainable parameters", parameter_count(model))
    with torch.no_grad():
        bias = model.collapse.bias
        assert bias is not None  # a Conv2d made with its bias
        bias.fill_(float(np.nanmean(probe_grid)))  # start from the mean soil moisture, not from 0
    values = torch.from_numpy(probe_grid)
    mask = torch.isfinite(values)
    targets = torch.from_numpy(target)
    cell_index = torch.from_numpy(cells.astype(np.int64))
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    order = torch.Generator().manual_seed(seed)
    for epoch in range(settings.epochs):
        model.train()
        total = 0.0
        for batch in torch.randperm(len(inputs), generator=order).split(settings.batch_size):
            optimiser.zero_grad()
            loss = fusion_loss(
                model(inputs[batch]), values[batch], mask[batch], targets[batch], cell_index[batch], settings.alpha
            )
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        if epoch == 0 or (epoch + 1) % 10 == 0 or epoch + 1 == settings.epochs:
            log.info("fusion CNN epoch %d/%d: training loss %.5f", epoch + 1, settings.epochs, total / len(inputs))
    recalibrate_batch_norm(model, inputs.split(settings.batch_size))
    return model.eval()


def recalibrate_batch_norm(model: FusionCnn, batches: Sequence[torch.Tensor]) -> None:
    """Set each batch norm's running statistics to those of all the batches, with dropout off.

    The paper's block puts the spatial dropout before the batch norm, which then learns statistics of dropped
    channels; and on small patches the running averages follow the last few batches. One pass over the training
    patches as the network predicts (dropout off) gives it the statistics it will meet.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the pass
    model.eval()
    for norm in norms:
        norm.train()
    with torch.no_grad():
        for batch in batches:
            model(batch)
    for norm in norms:
        norm.momentum = 0.1
    model.eval()


def predict(model: FusionCnn, inputs: torch.Tensor) -> np.ndarray:
    """(patch, y, x) soil moisture of the network in evaluation mode."""
    with torch.no_grad():
        return model.eval()(inputs).numpy()


def pooled(predicted: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """The prediction averaged over each 9 km cell, back on the cell's pixels (NaN outside cells): the paper's D."""
    n_cells = int(cells.max()) + 1
    if n_cells < 1:
        return np.full(predicted.shape, np.nan, dtype=np.float32)
    tensor_cells = torch.from_numpy(cells.astype(np.int64))
    means, _ = cell_means(torch.from_numpy(predicted.astype(np.float32)), tensor_cells, n_cells)
    flat = np.take_along_axis(means.numpy(), np.clip(cells, 0, None).reshape(len(cells), -1), axis=1)
    return np.where(cells >= 0, flat.reshape(cells.shape), np.nan).astype(np.float32)


def probe_predictions(patches: Patches, predicted: np.ndarray, split: Split) -> pd.DataFrame:
    """Tidy rows per probe entry: the network and the SMAP/Sentinel-1 L2 1 km product against the in-situ value,
    on the entries where both have a value (the same probes for both)."""
    entries = patches.entries
    meta = patches.index.iloc[entries["patch"]].reset_index(drop=True)
    network = predicted[entries["patch"], entries["row"], entries["col"]]
    common = pd.DataFrame(
        {
            "patch": entries["patch"].to_numpy(),
            "region": meta["region"],
            "time": meta["time"],
            "probe": entries["probe"].to_numpy(),
            "location": entries["location"].to_numpy(),
            "split": split.entry_split(patches),
            "observed": entries["observed"].to_numpy(),
        }
    )
    both = np.isfinite(network) & np.isfinite(entries["spl2smap_s"].to_numpy())
    if not both.all():
        log.info(
            "%d of %d probe entries have no SMAP/Sentinel-1 L2 1 km value; both models are scored on the other %d",
            int((~both).sum()),
            len(both),
            int(both.sum()),
        )
    common = common[both].reset_index(drop=True)
    return pd.concat(
        [
            common.assign(model="tsagkatakis_fusion", variant="fusion_cnn", predicted=network[both]),
            common.assign(
                model="tsagkatakis_fusion", variant="spl2smap_s", predicted=entries["spl2smap_s"].to_numpy()[both]
            ),
        ],
        ignore_index=True,
    )


def split_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    """Scores of the network and the L2 1 km product per split, overall, per region, per probe and per patch
    (level 'patch': the probes of one patch in one split, Fig 6)."""
    frames = []
    for split_name, rows in predictions.groupby("split", sort=False):
        frames.append(metrics_table(rows.drop(columns=["split", "location"])).assign(split=split_name))
        per_patch = grouped_scores(rows, ["model", "variant", "patch"])
        per_patch.insert(2, "level", "patch")
        per_patch.insert(3, "group", per_patch.pop("patch").astype(str))
        frames.append(per_patch.assign(split=split_name))
    return pd.concat(frames, ignore_index=True)


def patch_scores(predictions: pd.DataFrame) -> pd.DataFrame:
    """ubRMSE of the network and of the L2 1 km product over the probes of each patch and split (Fig 6)."""
    rows = []
    for (patch, split, variant), group in predictions.groupby(["patch", "split", "variant"]):
        err = group["predicted"] - group["observed"]
        rows.append(
            {
                "patch": patch,
                "variant": variant,
                "region": group["region"].iloc[0],
                "time": group["time"].iloc[0],
                "split": split,
                "n": len(group),
                "ubrmse": float(np.sqrt(max(np.mean(err**2) - np.mean(err) ** 2, 0.0))),
            }
        )
    return (
        pd.DataFrame(rows)
        .pivot_table(index=["patch", "region", "time", "split", "n"], columns="variant", values="ubrmse")
        .reset_index()
        .rename_axis(columns=None)
    )


def example_patch(patches: Patches, split: Split) -> int:
    """The patch with the most validation probe entries (the first such, by time), shown as the paper's Fig 7."""
    held = split.entry_split(patches) == "validation"
    counts = patches.entries[held].groupby("patch").size().reindex(range(len(patches.index)), fill_value=0)
    return int(counts.idxmax())


def example_dataset(patches: Patches, patch: int, predicted: np.ndarray) -> xr.Dataset:
    """Inputs, fine prediction, its 9 km average and the SMAP products for one patch (the paper's Fig 7)."""
    info = patches.index.iloc[patch]
    dims = ("y", "x")
    baseline = np.full(patches.target.shape[1:], np.nan, dtype=np.float32)
    rows = patches.entries[patches.entries["patch"] == patch]
    baseline[rows["row"], rows["col"]] = rows["spl2smap_s"].to_numpy()
    data = {band: (dims, patches.inputs[patch, i], BAND_ATTRS[band]) for i, band in enumerate(BANDS)}
    data |= {
        "ssm_fine": (dims, predicted[patch], {"units": "m3 m-3", "long_name": "fusion CNN soil moisture, fine pixels"}),
        "ssm_fine_pooled": (
            dims,
            pooled(predicted[patch : patch + 1], patches.cells[patch : patch + 1])[0],
            {"units": "m3 m-3", "long_name": "fusion CNN soil moisture averaged over each 9 km cell"},
        ),
        "smap_l2_sm": (
            dims,
            patches.target[patch],
            {"units": "m3 m-3", "long_name": "SMAP L2 9 km soil moisture (SPL2SMP_E)"},
        ),
        "spl2smap_s_at_probes": (
            dims,
            baseline,
            {"units": "m3 m-3", "long_name": "SMAP/Sentinel-1 L2 1 km soil moisture at the probes' pixels"},
        ),
    }
    return xr.Dataset(
        data,
        attrs={
            "title": "soilsat fusion CNN example patch",
            "Conventions": CONVENTIONS,
            "history": "written by soilsat's fusion CNN training",
            "region": str(info["region"]),
            "date": f"{pd.Timestamp(info['time']):%Y-%m-%d}",
            "product": str(info["product"]),
            "patch_row": int(info["row"]),
            "patch_col": int(info["col"]),
        },
    )
