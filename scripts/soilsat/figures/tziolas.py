"""Figures after Tziolas et al. (2020): clay models (Figs 9, A1, A2) and CNN filter interpretation (Figs 10-11)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from soilsat.errors import ProductError
from soilsat.evaluate.metrics import scores
from soilsat.figures.common import attribute, model_keys, model_label, plt, select_model

PREDICTIONS_COLUMNS = ("model", "sample", "observed", "predicted")
ACTIVATIONS_COLUMNS = ("sample", "filter", "activation")
OPTICAL = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
RADAR = ("VV", "VH")


# Where each of the paper's variants sits: Fig 9 pairs the models with coordinates (A-C) and without them
# (D-F), ANN, RF and CNN in columns; below come the per-date RF and ANN (Appendix A, Fig A1) and the CNN
# ablations without SAR (Appendix B, Fig A2).
PAPER_PANELS: dict[tuple[str, str], tuple[int, int, str]] = {
    ("ann", "median"): (0, 0, "Fig 9A"),
    ("rf", "median"): (0, 1, "Fig 9B"),
    ("cnn", "default"): (0, 2, "Fig 9C"),
    ("ann", "median_without_coordinates"): (1, 0, "Fig 9D"),
    ("rf", "median_without_coordinates"): (1, 1, "Fig 9E"),
    ("cnn", "without_coordinates"): (1, 2, "Fig 9F"),
    ("ann", "per_date"): (2, 0, "Fig A1"),
    ("rf", "per_date"): (2, 1, "Fig A1"),
    ("cnn", "without_SAR"): (2, 2, "Fig A2"),
    ("cnn", "without_SAR_and_coordinates"): (3, 2, "Fig A2"),
}


@dataclass(frozen=True)
class Panel:
    """One (model, variant) panel: its grid cell and the paper's figure it corresponds to ('' if none)."""

    model: str
    variant: object
    row: int
    column: int
    reference: str


def panel_grid(keys: Sequence[tuple[str, object]], columns: int = 3) -> tuple[int, int, list[Panel]]:
    """Rows, columns and panels: the paper's variants as in the paper, then any others, `columns` a row at most."""
    known = [k for k in keys if (k[0], str(k[1])) in PAPER_PANELS]
    others = [k for k in keys if (k[0], str(k[1])) not in PAPER_PANELS]
    rows = sorted({PAPER_PANELS[(m, str(v))][0] for m, v in known})
    cols = sorted({PAPER_PANELS[(m, str(v))][1] for m, v in known})
    width = max(len(cols), min(columns, len(others)))
    placed = []
    for m, v in known:
        row, column, reference = PAPER_PANELS[(m, str(v))]
        placed.append(Panel(m, v, rows.index(row), cols.index(column), reference))
    for index, (m, v) in enumerate(others):
        placed.append(Panel(m, v, len(rows) + index // width, index % width, ""))
    extra_rows = -(-len(others) // width) if others else 0
    return len(rows) + extra_rows, width, placed


def observed_vs_predicted_clay(predictions: pd.DataFrame, target: str = "clay") -> Figure:
    """Observed against predicted topsoil clay per model variant with R2, RMSE and RPIQ (Fig 9, Figs A1-A2)."""
    if "target" in predictions:
        predictions = predictions[predictions["target"] == target]
    keys = model_keys(predictions)
    if not keys:
        raise ProductError("predictions", f"no {target} predictions to plot")
    n_rows, n_cols, placed = panel_grid(keys)
    values = predictions[["observed", "predicted"]].to_numpy(dtype=float)
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.04 * (hi - lo) + 0.5
    limits = (max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad)
    fig, grid = plt.subplots(
        n_rows, n_cols, figsize=(4.0 * n_cols + 0.8, 4.0 * n_rows), layout="constrained", squeeze=False
    )
    used = {(p.row, p.column) for p in placed}
    for (row, column), ax in np.ndenumerate(grid):
        ax.set_visible((row, column) in used)
    for panel in placed:
        ax = grid[panel.row, panel.column]
        rows = select_model(predictions, panel.model, panel.variant).dropna(subset=["observed", "predicted"])
        s = scores(rows["observed"], rows["predicted"])
        ax.scatter(rows["observed"], rows["predicted"], s=14, alpha=0.7, edgecolor="none")
        ax.plot(limits, limits, color="0.3", ls="--", lw=1, label="1:1")
        ax.set_xlim(limits)
        ax.set_ylim(limits)
        ax.set_aspect("equal")
        ax.set_xlabel(f"Observed {target} (%)")
        ax.set_ylabel(f"Predicted {target} (%)")
        label = model_label(panel.model, panel.variant)
        ax.set_title(f"{label}\n(as the paper's {panel.reference})" if panel.reference else label)
        ax.text(
            0.04,
            0.96,
            f"R² = {s['r2']:.2f}\nRMSE = {s['rmse']:.2f} %\nRPIQ = {s['rpiq']:.2f}\nn = {s['n']}",
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=8,
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.8),
        )
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Observed against predicted topsoil {target}, test set")
    attribute(fig)
    return fig


def top_activating(
    activations: pd.DataFrame, filters: Sequence[int] | None = None, count: int = 6, fraction: float = 0.05
) -> dict[int, list[str]]:
    """Samples in the top `fraction` of activation of each filter; by default the `count` most active filters."""
    table = activations.astype({"sample": str})
    if filters is None:
        filters = table.groupby("filter")["activation"].mean().sort_values(ascending=False).index[:count].tolist()
    chosen = {}
    for f in filters:
        rows = table[table["filter"] == f]
        if rows.empty:
            raise ProductError("activations table", f"no activations of filter {f}")
        threshold = rows["activation"].quantile(1.0 - fraction)
        chosen[int(f)] = rows.loc[rows["activation"] >= threshold, "sample"].tolist()
    return chosen


def filter_boxplots(
    activations: pd.DataFrame, samples: xr.Dataset, filters: Sequence[int] | None = None, fraction: float = 0.05
) -> Figure:
    """Inputs and clay of the top-activating training samples of six last-layer filters, as boxplots (Figs 10-11)."""
    chosen = top_activating(activations, filters, 6, fraction)
    ids = [str(s) for s in samples["sample"].values]
    missing = sorted({s for group in chosen.values() for s in group} - set(ids))
    if missing:
        raise ProductError("activations table", f"samples not in the sample dataset: {', '.join(missing[:5])}")
    # Each sample's inputs are summarised by the median over its bare-soil observations.
    optical = [b for b in OPTICAL if b in samples]
    radar = [b for b in RADAR if b in samples]
    medians = pd.DataFrame({b: samples[b].median("observation").values for b in optical + radar}, index=ids)
    clay = pd.Series(samples["clay"].values, index=ids)
    fig, axes = plt.subplots(
        len(chosen),
        3,
        figsize=(11, 2.1 * len(chosen) + 1.2),
        layout="constrained",
        gridspec_kw={"width_ratios": [len(optical), max(len(radar), 1) + 0.6, 1.6]},
        squeeze=False,
    )
    for index, (f, members) in enumerate(chosen.items()):
        ax_s2, ax_s1, ax_clay = axes[index]
        ax_s2.boxplot([medians.loc[members, b].dropna() for b in optical], tick_labels=optical, showfliers=False)
        ax_s2.set_ylabel(f"Filter {f}\nReflectance (-)")
        ax_s1.boxplot([medians.loc[members, b].dropna() for b in radar], tick_labels=radar, showfliers=False)
        ax_s1.set_ylabel("σ⁰ (dB)")
        if medians.loc[members, radar].isna().all().all():  # no Sentinel-1 pair within the pairing window
            ax_s1.text(
                0.5,
                0.5,
                "no paired\nSentinel-1",
                transform=ax_s1.transAxes,
                ha="center",
                va="center",
                fontsize=8,
                color="0.4",
            )
            ax_s1.tick_params(labelleft=False, left=False)
        ax_clay.boxplot([clay.loc[members].dropna(), clay.dropna()], tick_labels=["top", "all"], showfliers=False)
        ax_clay.set_ylabel("Clay (%)")
        if index < len(chosen) - 1:  # band names once, under the last row
            for ax in axes[index]:
                ax.tick_params(labelbottom=False)
    axes[0, 0].set_title("Sentinel-2 bands")
    axes[0, 1].set_title("Sentinel-1")
    axes[0, 2].set_title("Clay")
    axes[-1, 0].set_xlabel("Band")
    axes[-1, 1].set_xlabel("Polarisation")
    axes[-1, 2].set_xlabel("Samples")
    fig.suptitle(f"Top {100 * fraction:g} % activating training samples of six last-layer CNN filters")
    attribute(fig)
    return fig
