"""Tsagkatakis et al. (2021) protocol: fine sigma0 + coarse radiometer patches, trained on probes and a coarse product.

Patches are tiles of a region's grid at the fine resolution on one Sentinel-1 date, eligible when at
least `min_probes` probe pixels have an in-situ value that day. Patches are split at random into
training and validation; the network is scored at the validation probes against the coarse product.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import xarray as xr

from soilsat.cf_netcdf import CONVENTIONS, DECIBEL
from soilsat.demo.radiometer import block_mean
from soilsat.errors import ConfigError, ProductError
from soilsat.evaluate.metrics import metrics_table
from soilsat.io import read_bands
from soilsat.models.tsagkatakis.network import FusionCnn, fusion_inputs, fusion_loss
from soilsat.settings import Settings

log = logging.getLogger(__name__)

FINE_BANDS = ("sigma0_VV", "sigma0_VH")
COARSE_BANDS = ("tb_h", "tb_v")


@dataclasses.dataclass(frozen=True)
class FusionSettings(Settings):
    """Patch and training settings (config train.tsagkatakis)."""

    fine_resolution_m: float
    patch_size: int
    min_probes: int
    validation_fraction: float
    alpha: float
    epochs: int
    batch_size: int
    learning_rate: float
    dropout: float
    filters: int
    blocks: int


@dataclasses.dataclass
class Patches:
    """Co-registered fine and coarse inputs of every eligible patch, with the probes inside them."""

    fine: np.ndarray  # (patch, 2, Y, X) sigma0 VV and VH in dB
    coarse: np.ndarray  # (patch, 2, y, x) brightness temperatures H and V in K
    product: np.ndarray  # (patch, y, x) coarse soil-moisture product
    index: pd.DataFrame  # region, time, product, row, col (fine pixels of the patch's corner)
    probes: pd.DataFrame  # patch, probe, row, col (fine pixels within the patch), observed

    def probe_grid(self) -> np.ndarray:
        """(patch, Y, X) in-situ soil moisture at probe pixels (probes sharing a pixel averaged), NaN elsewhere."""
        grid = np.full((len(self.index), *self.fine.shape[-2:]), np.nan, dtype=np.float32)
        means = self.probes.groupby(["patch", "row", "col"])["observed"].mean()
        for (patch, row, col), value in means.items():
            grid[patch, row, col] = value
        return grid


def whole_factor(numerator: float, denominator: float, what: str) -> int:
    """numerator / denominator as a whole number; a ConfigError naming `what` otherwise."""
    factor = int(round(numerator / denominator))
    if factor < 1 or abs(factor * denominator - numerator) > 1e-6 * numerator:
        raise ConfigError(f"{what}: {numerator:g} m is not a whole multiple of {denominator:g} m")
    return factor


def fine_sigma0(path: str, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """(2, Y, X) sigma0 VV and VH in dB, averaged in linear units over `factor`-pixel blocks with half of them valid."""
    bands = read_bands(path)
    missing = [b for b in FINE_BANDS if b not in bands]
    if missing:
        raise ProductError(path, f"Sentinel-1 raster lacks bands {', '.join(missing)}")
    out = []
    for name in FINE_BANDS:
        linear = bands[name][: shape[0] * factor, : shape[1] * factor].astype(np.float64)
        linear = np.where(linear > 0, linear, np.nan)
        valid = block_mean(np.isfinite(linear).astype(np.float64), factor)
        mean = block_mean(np.nan_to_num(linear), factor) / np.maximum(valid, 1e-12)
        out.append(np.where(valid >= 0.5, 10 * np.log10(np.maximum(mean, 1e-10)), np.nan))
    return np.stack(out).astype(np.float32)


def region_patches(
    radar: pd.DataFrame,
    product: xr.Dataset,
    probes: xr.Dataset,
    region: str,
    grid_resolution: float,
    settings: FusionSettings,
) -> list[dict]:
    """The eligible patches of one region: one per tile and Sentinel-1 date."""
    fine_factor = whole_factor(
        settings.fine_resolution_m, grid_resolution, "config key train.tsagkatakis.fine_resolution_m"
    )
    coarse_factor = whole_factor(
        float(product.attrs["resolution_m"]),
        settings.fine_resolution_m,
        "coarse product resolution against train.tsagkatakis.fine_resolution_m",
    )
    coarse_shape = (product.sizes["y"], product.sizes["x"])
    fine_shape = (coarse_shape[0] * coarse_factor, coarse_shape[1] * coarse_factor)
    tile = min(settings.patch_size, *fine_shape) // coarse_factor * coarse_factor
    if tile < coarse_factor:
        raise ConfigError(
            f"config key train.tsagkatakis.patch_size {settings.patch_size} is smaller than one coarse "
            f"pixel ({coarse_factor} fine pixels)"
        )
    here = probes["region"].values == region
    sites = pd.DataFrame(
        {
            "probe": probes["probe"].values[here],
            "row": probes["row"].values[here] // fine_factor,
            "col": probes["col"].values[here] // fine_factor,
        }
    )
    ssm = probes["ssm"].sel(probe=sites["probe"].to_numpy())
    product_days = pd.DatetimeIndex(product["time"].values)
    patches = []
    for _, image in radar.sort_values("time").iterrows():
        day = pd.Timestamp(image["time"]).normalize()
        if day not in product_days or day not in ssm["time"].to_index():
            log.info("no coarse product or probe day for %s on %s; skipped", image["product"], f"{day:%Y-%m-%d}")
            continue
        observed = ssm.sel(time=day).values
        fine = fine_sigma0(image["path"], fine_factor, fine_shape)
        day_product = product.sel(time=day)
        for row0 in range(0, fine_shape[0] - tile + 1, tile):
            for col0 in range(0, fine_shape[1] - tile + 1, tile):
                inside = (
                    (sites["row"] >= row0)
                    & (sites["row"] < row0 + tile)
                    & (sites["col"] >= col0)
                    & (sites["col"] < col0 + tile)
                    & np.isfinite(observed)
                )
                if inside.sum() < settings.min_probes:
                    continue
                c0, c1 = row0 // coarse_factor, col0 // coarse_factor
                cn = tile // coarse_factor
                coarse = np.stack([day_product[b].values[c0 : c0 + cn, c1 : c1 + cn] for b in COARSE_BANDS])
                members = sites[inside].assign(
                    row=lambda t: t["row"] - row0, col=lambda t: t["col"] - col0, observed=observed[inside.to_numpy()]
                )
                patches.append(
                    {
                        "region": region,
                        "time": day,
                        "product": image["product"],
                        "row": row0,
                        "col": col0,
                        "fine": fine[:, row0 : row0 + tile, col0 : col0 + tile],
                        "coarse": coarse,
                        "sm": day_product["sm"].values[c0 : c0 + cn, c1 : c1 + cn],
                        "probes": members,
                    }
                )
    return patches


def stack_patches(patches: Sequence[dict]) -> Patches:
    """Patches of equal size stacked into arrays."""
    if not patches:
        raise ValueError(
            "no eligible patches: no tile holds train.tsagkatakis.min_probes probes with an in-situ value "
            "on a Sentinel-1 date"
        )
    shapes = {p["fine"].shape for p in patches}
    if len(shapes) > 1:
        raise ValueError(
            f"patches differ in size across regions ({sorted(shapes)}); set train.tsagkatakis.patch_size "
            "no larger than the smallest region"
        )
    probes = pd.concat([p["probes"].assign(patch=i) for i, p in enumerate(patches)], ignore_index=True)
    index = pd.DataFrame([{k: p[k] for k in ("region", "time", "product", "row", "col")} for p in patches])
    return Patches(
        fine=np.stack([p["fine"] for p in patches]),
        coarse=np.stack([p["coarse"] for p in patches]),
        product=np.stack([p["sm"] for p in patches]).astype(np.float32),
        index=index,
        probes=probes[["patch", "probe", "row", "col", "observed"]],
    )


def split_patches(count: int, validation_fraction: float, seed: int) -> np.ndarray:
    """A boolean array, True for the validation patches (a seeded random share, at least one each way)."""
    if count < 2:
        raise ValueError(f"{count} eligible patch(es): need at least 2 to train and validate")
    n_val = min(max(1, int(round(validation_fraction * count))), count - 1)
    validation = np.zeros(count, dtype=bool)
    validation[np.random.default_rng(seed).permutation(count)[:n_val]] = True
    return validation


def standardised_inputs(patches: Patches, train: np.ndarray) -> torch.Tensor:
    """The network's input stack, each channel standardised by its training-patch statistics, gaps set to 0."""

    def scaled(values: np.ndarray) -> np.ndarray:
        mean = np.nanmean(values[train], axis=(0, 2, 3), keepdims=True)
        std = np.nanstd(values[train], axis=(0, 2, 3), keepdims=True)
        return np.nan_to_num((values - mean) / np.where(std > 0, std, 1.0))

    return fusion_inputs(
        torch.from_numpy(scaled(patches.fine).astype(np.float32)),
        torch.from_numpy(scaled(patches.coarse).astype(np.float32)),
    )


def train_fusion(
    inputs: torch.Tensor, probe_grid: np.ndarray, product: np.ndarray, settings: FusionSettings, seed: int
) -> FusionCnn:
    """Fit the fusion network on training patches with the composite probe + coarse-product loss."""
    torch.manual_seed(seed)
    model = FusionCnn(
        n_inputs=inputs.shape[1], filters=settings.filters, blocks=settings.blocks, dropout=settings.dropout
    )
    with torch.no_grad():
        model.net[-1].bias.fill_(float(np.nanmean(probe_grid)))  # start from the mean soil moisture, not from 0
    values = torch.from_numpy(probe_grid)
    mask = torch.isfinite(values)
    coarse = torch.from_numpy(product)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    order = torch.Generator().manual_seed(seed)
    for epoch in range(settings.epochs):
        model.train()
        total = 0.0
        for batch in torch.randperm(len(inputs), generator=order).split(settings.batch_size):
            optimiser.zero_grad()
            loss = fusion_loss(model(inputs[batch]), values[batch], mask[batch], coarse[batch], settings.alpha)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        if epoch == 0 or (epoch + 1) % 10 == 0 or epoch + 1 == settings.epochs:
            log.info("fusion CNN epoch %d/%d: training loss %.5f", epoch + 1, settings.epochs, total / len(inputs))
    return model.eval()


def predict(model: FusionCnn, inputs: torch.Tensor) -> np.ndarray:
    """(patch, Y, X) soil moisture of the network in evaluation mode."""
    with torch.no_grad():
        return model.eval()(inputs).numpy()


def probe_predictions(patches: Patches, predicted: np.ndarray, validation: np.ndarray) -> pd.DataFrame:
    """Tidy rows per probe and patch: the network and the coarse product against the in-situ value."""
    probes = patches.probes
    factor = patches.fine.shape[-1] // patches.product.shape[-1]
    meta = patches.index.iloc[probes["patch"]].reset_index(drop=True)
    common = pd.DataFrame(
        {
            "patch": probes["patch"].to_numpy(),
            "region": meta["region"],
            "time": meta["time"],
            "probe": probes["probe"].to_numpy(),
            "split": np.where(validation[probes["patch"]], "validation", "training"),
            "observed": probes["observed"].to_numpy(),
        }
    )
    network = predicted[probes["patch"], probes["row"], probes["col"]]
    coarse = patches.product[probes["patch"], probes["row"] // factor, probes["col"] // factor]
    return pd.concat(
        [
            common.assign(model="tsagkatakis_fusion", variant="fusion_cnn", predicted=network),
            common.assign(model="tsagkatakis_fusion", variant="coarse_product", predicted=coarse),
        ],
        ignore_index=True,
    )


def split_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    """Scores of the network and the coarse product per split, overall, per region and per probe."""
    frames = [
        metrics_table(rows.drop(columns="split")).assign(split=split)
        for split, rows in predictions.groupby("split", sort=False)
    ]
    return pd.concat(frames, ignore_index=True)


def example_patch(patches: Patches, validation: np.ndarray) -> int:
    """The validation patch with the most probes (the first such, by time), shown as the paper's Fig 7."""
    counts = patches.probes.groupby("patch").size().reindex(range(len(patches.index)), fill_value=0)
    return int(counts.where(validation, -1).idxmax())


def patch_scores(predictions: pd.DataFrame) -> pd.DataFrame:
    """ubRMSE of the network and of the coarse product over the probes of each patch (the paper's Fig 6)."""
    rows = []
    for (patch, variant), group in predictions.groupby(["patch", "variant"]):
        err = group["predicted"] - group["observed"]
        rows.append(
            {
                "patch": patch,
                "variant": variant,
                "region": group["region"].iloc[0],
                "time": group["time"].iloc[0],
                "split": group["split"].iloc[0],
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


def example_dataset(patches: Patches, patch: int, predicted: np.ndarray) -> xr.Dataset:
    """Inputs, fine prediction and its coarse average for one patch (the paper's Fig 7)."""
    factor = patches.fine.shape[-1] // patches.product.shape[-1]
    pooled = block_mean(predicted[patch].astype(np.float64), factor)
    info = patches.index.iloc[patch]
    dims_f, dims_c = ("y", "x"), ("y_coarse", "x_coarse")
    return xr.Dataset(
        {
            "sigma0_vv_db": (
                dims_f,
                patches.fine[patch, 0],
                {"units": DECIBEL, "long_name": "Sentinel-1 sigma0 VV, dB"},
            ),
            "sigma0_vh_db": (
                dims_f,
                patches.fine[patch, 1],
                {"units": DECIBEL, "long_name": "Sentinel-1 sigma0 VH, dB"},
            ),
            "tb_h": (dims_c, patches.coarse[patch, 0], {"units": "K", "long_name": "brightness temperature H"}),
            "tb_v": (dims_c, patches.coarse[patch, 1], {"units": "K", "long_name": "brightness temperature V"}),
            "ssm_fine": (dims_f, predicted[patch], {"units": "m3 m-3", "long_name": "fusion CNN soil moisture, fine"}),
            "ssm_fine_pooled": (
                dims_c,
                pooled.astype(np.float32),
                {"units": "m3 m-3", "long_name": "fusion CNN soil moisture averaged to the coarse grid"},
            ),
            "ssm_coarse_product": (
                dims_c,
                patches.product[patch],
                {"units": "m3 m-3", "long_name": "coarse soil-moisture product"},
            ),
        },
        attrs={
            "title": "soilsat fusion CNN example patch",
            "Conventions": CONVENTIONS,
            "history": "written by soilsat's fusion CNN training",
            "region": str(info["region"]),
            "date": f"{pd.Timestamp(info['time']):%Y-%m-%d}",
            "sentinel1_product": str(info["product"]),
            "patch_row": int(info["row"]),
            "patch_col": int(info["col"]),
        },
    )
