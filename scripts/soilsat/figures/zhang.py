"""Figures after Zhang et al. (2022): RMSE and R2 over the repeats per covariate group and model (Fig 8)."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from soilsat.figures.common import attribute, model_label, plt

METRICS_COLUMNS = ("model", "variant", "rmse", "r2")
# Covariate groups in the order of the paper's Table 4 (soilsat.models.zhang.protocol.GROUPS); others follow.
GROUP_ORDER = ("static", "static_phenology", "static_EVI", "static_phenology_EVI")


def tick_label(group: str, width: int = 16) -> str:
    """A covariate group's name for the axis, wrapped when long so that neighbours do not overlap."""
    return textwrap.fill(group.replace("_", " "), width)


def repeat_scores(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per model, covariate group (variant) and repeat: the overall scores of each repeat."""
    if "level" in metrics:
        metrics = (
            metrics[metrics["level"] == "repeat"]
            if (metrics["level"] == "repeat").any()
            else metrics[metrics["level"] == "all"]
        )
    return metrics


def repeat_boxplots(metrics: pd.DataFrame, units: str = "g/kg") -> Figure:
    """Boxplots of RMSE and R2 over the repeats, per covariate group (x) and model (colour) (Fig 8)."""
    table = repeat_scores(metrics)
    found = list(dict.fromkeys(table["variant"].astype(str)))
    groups = [g for g in GROUP_ORDER if g in found] + [g for g in found if g not in GROUP_ORDER]
    models = list(dict.fromkeys(table["model"].astype(str)))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    step = 0.8 / len(models)
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 2.2 * len(groups) + 3), 4.4), layout="constrained")
    for ax, column, label in zip(axes, ("rmse", "r2"), (f"RMSE ({units})", "R² (-)")):
        for k, model in enumerate(models):
            rows = table[table["model"].astype(str) == model]
            data = [rows.loc[rows["variant"].astype(str) == g, column].dropna().to_numpy() for g in groups]
            keep = [i for i, d in enumerate(data) if d.size]
            positions = np.arange(len(groups)) + (k - (len(models) - 1) / 2) * step
            parts = ax.boxplot(
                [data[i] for i in keep],
                positions=positions[keep],
                widths=0.85 * step,
                patch_artist=True,
                showfliers=True,
            )
            for box in parts["boxes"]:
                box.set_facecolor(colours[k % len(colours)])
                box.set_alpha(0.7)
            ax.plot([], [], "s", color=colours[k % len(colours)], label=model_label(model))
        ax.set_xticks(range(len(groups)), [tick_label(g) for g in groups])
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_xlabel("Covariate group")
        ax.set_ylabel(label)
    axes[0].set_title("RMSE over the repeats")
    axes[1].set_title("R² over the repeats")
    axes[1].legend(fontsize=8, loc="best")
    fig.suptitle("Soil organic carbon: 5-fold cross-validation repeated")
    attribute(fig)
    return fig
