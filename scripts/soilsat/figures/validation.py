"""Validation figures: per-station metrics by stratum, triple collocation, interval coverage, the protocols side
by side, and maps with their intervals and area of applicability."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from soilsat.figures.common import (
    attribute,
    crs_name,
    figure_per_map,
    landcover_name,
    map_panel,
    panels,
    plt,
    read_map,
    unit_label,
)
from soilsat.figures.maps import AOA_BAND, CMAPS, NAMES, band_names, greyed

METRIC_LABELS = {
    "r": "Pearson R (-)",
    "ubrmsd": "ubRMSD",
    "bias": "Bias (predicted - in situ)",
    "rmsd": "RMSD",
    "abs_error": "Absolute error",
    "error": "Error (predicted - observed)",
}
STRATUM_LABELS = {
    "region": "Region",
    "network": "Network",
    "landcover": "Land cover",
    "texture": "Soil texture (USDA)",
    "climate": "Koeppen-Geiger climate",
}


def colours() -> list[str]:
    """The colour cycle of the figures."""
    return plt.rcParams["axes.prop_cycle"].by_key()["color"]


def message_figure(message: str) -> Figure:
    """A small figure that says why there is nothing to draw (too few stations, no triplets)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.0), layout="constrained")
    ax.xaxis.set_visible(False)
    ax.yaxis.set_visible(False)
    ax.set_frame_on(False)
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10)
    attribute(fig)
    return fig


def stratum_tick(kind: str, stratum: str) -> str:
    """A stratum's tick label: CORINE codes get their class name, long names are wrapped."""
    text = landcover_name(stratum) if kind == "landcover" and stratum.isdigit() else stratum
    return textwrap.fill(text, 14)


def grouped_boxes(ax: Axes, table: pd.DataFrame, stratum: str, column: str, names: Sequence[str]) -> None:
    """Boxes of `column` per stratum (x) and model (colour) on one axes."""
    strata = sorted(table[stratum].astype(str).unique())
    step = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        rows = table[table["name"] == name]
        data = [rows.loc[rows[stratum].astype(str) == s, column].dropna().to_numpy() for s in strata]
        keep = [i for i, d in enumerate(data) if d.size]
        if not keep:
            continue
        positions = np.arange(len(strata)) + (k - (len(names) - 1) / 2) * step
        parts = ax.boxplot(
            [data[i] for i in keep],
            positions=positions[keep],
            widths=0.85 * step,
            patch_artist=True,
            showfliers=False,
            medianprops={"color": "black"},
        )
        for box in parts["boxes"]:
            box.set_facecolor(colours()[k % len(colours())])
            box.set_alpha(0.75)
        for i in keep:  # the stations themselves: few per stratum, so every one is shown
            ax.plot(np.full(len(data[i]), positions[i]), data[i], ".", color="0.2", ms=3)
    ax.set_xticks(range(len(strata)), [stratum_tick(stratum, s) for s in strata], fontsize=8)
    ax.set_xlim(-0.6, len(strata) - 0.4)


def strata_boxplots(
    table: pd.DataFrame, names: Sequence[str], strata: Sequence[str], metrics: Sequence[str], units: str, title: str
) -> Figure:
    """Per-station (or per-sample) metrics by stratum: one row per kind of stratum, one column per metric."""
    strata = [s for s in strata if s in table and table[s].nunique() >= 1]
    if table.empty or not names or not strata:
        return message_figure(f"{title}:\nno station or sample with enough pairs (validate.min_pairs)")
    fig, axes = plt.subplots(
        len(strata),
        len(metrics),
        figsize=(4.2 * len(metrics) + 0.6, 2.7 * len(strata) + 1.2),
        layout="constrained",
        squeeze=False,
    )
    for row, stratum in enumerate(strata):
        for col, metric in enumerate(metrics):
            ax = axes[row][col]
            grouped_boxes(ax, table, stratum, metric, names)
            label = METRIC_LABELS.get(metric, metric)
            ax.set_ylabel(label if metric in ("r",) else f"{label} ({units})", fontsize=8)
            ax.set_xlabel(STRATUM_LABELS.get(stratum, stratum), fontsize=8)
            if metric == "r":
                ax.axhline(0, color="0.6", lw=0.6)
    handles = [Patch(facecolor=colours()[k % len(colours())], alpha=0.75, label=n) for k, n in enumerate(names)]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    fig.suptitle(title, fontsize=11)
    attribute(fig)
    return fig


def collocation_figure(table: pd.DataFrame, scope: str = "all") -> Figure:
    """Triple collocation: median over stations of each estimate's error sd and SNR (bars), the stations' spread
    (interquartile whiskers), per model and independent product, on raw values and anomalies."""
    stations = table[(table["probe"] != "median of stations") & (table["scope"] == scope)]
    if stations.empty:
        return message_figure(
            "Triple collocation: no station has enough days\nwith all three estimates (validate.triple_collocation)"
        )
    columns = list(stations.groupby(["product", "kind"], sort=True).groups)
    fig, axes = plt.subplots(
        2, len(columns), figsize=(4.6 * len(columns) + 0.6, 6.2), layout="constrained", squeeze=False
    )
    for col, (product, kind) in enumerate(columns):
        rows = stations[(stations["product"] == product) & (stations["kind"] == kind)]
        models = list(dict.fromkeys(rows["model"]))
        for row, (column, label) in enumerate(
            (("err_std", "Error standard deviation (m³/m³)"), ("snr_db", "SNR (dB)"))
        ):
            ax = axes[row][col]
            for k, estimate in enumerate(("in situ", "model", "product")):
                values = []
                for model in models:
                    name = {"in situ": "in situ", "model": model, "product": product}[estimate]
                    found = rows[(rows["model"] == model) & (rows["estimate"] == name)][column].dropna()
                    values.append(found.to_numpy())
                med = [float(np.median(v)) if v.size else np.nan for v in values]
                low = [float(np.percentile(v, 25)) if v.size else np.nan for v in values]
                high = [float(np.percentile(v, 75)) if v.size else np.nan for v in values]
                x = np.arange(len(models)) + (k - 1) * 0.27
                ax.bar(x, med, width=0.25, color=colours()[k], alpha=0.8, label=estimate if row == col == 0 else None)
                ax.errorbar(
                    x, med, yerr=[np.subtract(med, low), np.subtract(high, med)], fmt="none", ecolor="0.2", lw=0.8
                )
            ax.set_xticks(range(len(models)), [textwrap.fill(m.replace("_", " "), 12) for m in models], fontsize=8)
            ax.set_ylabel(label, fontsize=8)
            if row == 0:
                ax.set_title(f"with {product.replace('_', ' ')}, {kind}", fontsize=9)
    fig.legend(loc="outside right upper", fontsize=8)
    fig.suptitle(
        "Triple collocation: in situ, soilsat model, independent product (median and IQR of stations)", fontsize=10
    )
    attribute(fig)
    return fig


def coverage_figure(table: pd.DataFrame, units: str) -> Figure:
    """Empirical coverage of held-out observations against the nominal level, and the intervals' mean width."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 4.6), layout="constrained")
    keys = list(dict.fromkeys(zip(table["model"].astype(str), table["variant"].astype(str))))
    for k, (model, variant) in enumerate(keys):
        rows = table[(table["model"].astype(str) == model) & (table["variant"].astype(str) == variant)]
        rows = rows.sort_values("level")
        label = f"{model} {variant}".replace("_", " ").strip()
        style = "s--" if model == "map random forest" else "o-"
        colour = colours()[k % len(colours())]
        left.plot(rows["level"], rows["coverage"], style, color=colour, ms=4, label=label)
        finite = rows[np.isfinite(rows["mean_width"])]
        right.plot(finite["level"], finite["mean_width"], style, color=colour, ms=4)
    left.plot([0, 1], [0, 1], color="0.5", lw=0.8, ls=":")
    left.set_xlim(0.4, 1.0)
    left.set_ylim(0.3, 1.02)
    left.set_xlabel("Nominal level of the conformal interval")
    left.set_ylabel("Share of held-out observations covered")
    left.set_title("Coverage (1:1 line dotted)", fontsize=10)
    right.set_xlabel("Nominal level of the conformal interval")
    right.set_ylabel(f"Mean interval width ({units})")
    right.set_title("Width", fontsize=10)
    fig.legend(loc="outside right center", fontsize=7)
    attribute(fig)
    return fig


def protocols_figure(table: pd.DataFrame, units: str) -> Figure:
    """RMSE and R2 of the paper's protocol, random k-fold and blocked cross-validation side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.9), layout="constrained")
    labels = [textwrap.fill(f"{p}\n{m}", 22) for p, m in zip(table["protocol"], table["model"])]
    for ax, column, label in zip(axes, ("rmse", "r2"), (f"RMSE ({units})", "R² (-)")):
        ax.barh(range(len(table)), table[column], color=[colours()[i % len(colours())] for i in range(len(table))])
        ax.set_yticks(range(len(table)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(label)
        if column == "r2":
            ax.axvline(0, color="0.5", lw=0.8)
    axes[1].set_yticks([])
    fig.suptitle("The paper's protocol beside random and spatially blocked cross-validation", fontsize=10)
    attribute(fig)
    return fig


def aoa_figure(path: str | os.PathLike) -> Figure:
    """A map with its uncertainty: the value greyed outside the AOA, the interval's width, the DI, the AOA."""
    value = read_map(path)
    name = band_names(path)[0]
    bands = {band: read_map(path, band) for band in (f"{name}_lower", f"{name}_upper", "dissimilarity_index", AOA_BAND)}
    width = bands[f"{name}_upper"].values - bands[f"{name}_lower"].values
    aoa = bands[AOA_BAND].values
    fig, axes = panels(4, 4.2, 2)
    units = unit_label(value.units)
    map_panel(axes[0], value, f"{NAMES.get(name, name)} ({units})", cmap=CMAPS.get(name, "viridis"))
    greyed(axes[0], aoa, value.extent)
    axes[0].set_title("Prediction, grey outside the AOA", fontsize=9)
    level = value.tags.get("interval_level", "")
    map_panel(axes[1], value, f"Interval width ({units})", cmap="magma_r", values=width)
    axes[1].set_title(f"Width of the {level} conformal interval".replace("  ", " "), fontsize=9)
    map_panel(axes[2], value, "Dissimilarity index (-)", cmap="cividis", values=bands["dissimilarity_index"].values)
    axes[2].set_title("Dissimilarity to the training data", fontsize=9)
    map_panel(axes[3], value, "Inside the AOA (1) or not (0)", cmap="RdYlGn", values=aoa, limits=(0.0, 1.0))
    inside = float(np.nanmean(aoa)) if np.isfinite(aoa).any() else float("nan")
    axes[3].set_title(f"Area of applicability ({100 * inside:.0f} % inside)", fontsize=9)
    when = f" {value.tags['date']}" if "date" in value.tags else ""
    fig.suptitle(f"{NAMES.get(name, name)}, {value.tags.get('region', '')}{when} ({crs_name(value.crs)})", fontsize=10)
    attribute(fig)
    return fig


def aoa_folder(maps: str | os.PathLike, out: str | os.PathLike) -> list[Path]:
    """One AOA figure per map COG of a folder (the soil-moisture dates of a region), written into `out`."""
    return figure_per_map(maps, out, aoa_figure)
