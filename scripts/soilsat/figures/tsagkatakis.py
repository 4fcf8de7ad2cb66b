"""Figures after Tsagkatakis et al. (2021) from the fusion CNN's stored results: in-situ against retrieved soil
moisture (Figs 4-5), ubRMSE per validation patch (Fig 6) and one patch's inputs and predictions (Fig 7).

The inputs are the patches of soilsat.models.tsagkatakis.patches: Sentinel-1 sigma0 VV and VH at the fine
resolution (the paper: 1 km, from SPL2SMAP_S or soilsat's own chain) and SMAP L1C brightness temperatures H and V
(SPL1CTB_E, 9 km), 256 x 256 x 4 in the paper. Validation probes are held out in space (by probe location or patch
place), and the network and the SMAP/Sentinel-1 L2 1 km product (SPL2SMAP_S) are scored on the same probe values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from soilsat.evaluate.metrics import scores
from soilsat.figures.common import attribute, plt

PREDICTIONS_COLUMNS = ("patch", "variant", "split", "observed", "predicted")
PATCH_COLUMNS = ("patch", "time", "split", "n", "fusion_cnn", "spl2smap_s")
# The paper's colours: the SMAP/Sentinel-1 L2 product in blue, the network in orange, the ideal line in green.
STYLE = {"spl2smap_s": ("tab:blue", "SMAP/Sentinel-1 L2 1 km (SPL2SMAP_S)"), "fusion_cnn": ("tab:orange", "Fusion CNN")}


def scatter(predictions: pd.DataFrame) -> Figure:
    """In-situ against retrieved soil moisture at the training and the held-out validation probes, the network and
    the L2 1 km product on the same probe values (Figs 4 and 5)."""
    values = predictions[["observed", "predicted"]].to_numpy(dtype=float)
    limits = (max(0.0, float(np.nanmin(values)) - 0.02), float(np.nanmax(values)) + 0.02)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5), layout="constrained")
    for ax, split in zip(axes, ("training", "validation")):
        rows = predictions[predictions["split"] == split]
        lines = []
        for variant, (colour, label) in STYLE.items():
            pairs = rows[rows["variant"] == variant]
            s = scores(pairs["observed"], pairs["predicted"])
            ax.scatter(
                pairs["observed"],
                pairs["predicted"],
                s=9,
                alpha=0.5,
                color=colour,
                edgecolor="none",
                label=f"{label} (ubRMSE {s['ubrmse']:.3f})",
            )
            lines.append(f"{label}: ubRMSE {s['ubrmse']:.3f}, r {s['r']:.2f}")
        ax.plot(limits, limits, color="tab:green", lw=1.2, label="Ideal")
        ax.set_xlim(limits)
        ax.set_ylim(limits)
        ax.set_aspect("equal")
        ax.set_xlabel("In-situ soil moisture (m³/m³)")
        ax.set_ylabel("Retrieved soil moisture (m³/m³)")
        n_patches = rows["patch"].nunique() if "patch" in rows else 0
        ax.set_title(f"{split.capitalize()} patches ({n_patches}), {len(rows) // 2} probe values")
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle("In-situ against retrieved soil moisture")
    attribute(fig)
    return fig


def patch_ubrmse(patches: pd.DataFrame) -> Figure:
    """ubRMSE over the held-out probes of each patch, network against the L2 1 km product, with the means (Fig 6)."""
    rows = patches[patches["split"] == "validation"].sort_values("time").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    x = np.arange(len(rows))
    width = 0.4
    for offset, (variant, (colour, label)) in zip((-width / 2, width / 2), STYLE.items()):
        mean = float(rows[variant].mean())
        ax.bar(x + offset, rows[variant], width, color=colour, label=f"{label} (mean {mean:.3f})")
        ax.axhline(mean, color=colour, lw=1, ls="--")
    ax.set_xticks(x, [f"{pd.Timestamp(t):%d %b}" for t in rows["time"]], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, max(len(rows), 1) - 0.4)
    ax.set_xlabel("Validation patch (date)")
    ax.set_ylabel("ubRMSE (m³/m³)")
    ax.set_title(f"ubRMSE against the in-situ probes of {len(rows)} validation patches")
    ax.legend(loc="upper right", fontsize=8)
    attribute(fig)
    return fig


def example(dataset: xr.Dataset) -> Figure:
    """One patch: the four inputs (sigma0 VV and VH, SMAP L1C Tb H and V), the fine prediction beside SPL2SMAP_S
    at the probes, and the prediction averaged over each 9 km cell beside SPL2SMP_E, the auxiliary target (Fig 7)."""
    fig, axes = plt.subplots(3, 4, figsize=(13, 9.5), layout="constrained")
    inputs = [
        ("sigma0_vv_db", "σ⁰ VV (dB)", "gray"),
        ("sigma0_vh_db", "σ⁰ VH (dB)", "gray"),
        ("tb_h", "SMAP L1C Tb H (K)", "magma"),
        ("tb_v", "SMAP L1C Tb V (K)", "magma"),
    ]
    for ax, (name, label, cmap) in zip(axes[0], inputs):
        _panel(ax, dataset[name].values, label, cmap)
    names = ("ssm_fine", "spl2smap_s_at_probes", "ssm_fine_pooled", "smap_l2_sm")
    ssm = [dataset[n].values for n in names]
    finite = np.concatenate([v[np.isfinite(v)] for v in ssm])
    limits = (float(np.percentile(finite, 2)), float(np.percentile(finite, 98))) if finite.size else None
    _panel(axes[1][0], ssm[0], "Fusion CNN, fine (m³/m³)", "YlGnBu", limits)
    _panel(axes[1][1], ssm[1], "SPL2SMAP_S 1 km, probes (m³/m³)", "YlGnBu", limits)
    _panel(axes[2][0], ssm[2], "Fusion CNN, 9 km means (m³/m³)", "YlGnBu", limits)
    _panel(axes[2][1], ssm[3], "SPL2SMP_E 9 km (m³/m³)", "YlGnBu", limits)
    for ax in [*axes[1][2:], *axes[2][2:]]:
        ax.set_visible(False)
    fig.suptitle(
        f"Patch of {dataset.attrs['region']} on {dataset.attrs['date']}: inputs (top), "
        "prediction at the fine (middle) and the coarse resolution (bottom)"
    )
    attribute(fig, dataset.attrs["date"][:4])
    return fig


def _panel(ax, values: np.ndarray, label: str, cmap: str, limits: tuple[float, float] | None = None) -> None:
    """An image panel in pixel units with a labelled colour bar."""
    image = ax.imshow(
        values,
        cmap=cmap,
        vmin=None if limits is None else limits[0],
        vmax=None if limits is None else limits[1],
        interpolation="nearest",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(label, fontsize=10)
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
