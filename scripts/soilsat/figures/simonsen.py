"""Figures after Simonsen (2021): model agreement and probe time series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from soilsat.evaluate.metrics import scores
from soilsat.figures.common import attribute, plt


def observed_vs_predicted(predictions: pd.DataFrame, model: str = "random_forest") -> Figure:
    """Hexbin density of observed against predicted soil moisture with MAE and r (Figs 24-25)."""
    data = predictions[predictions["model"] == model]
    s = scores(data["observed"], data["predicted"])
    fig, ax = plt.subplots(figsize=(5.5, 5.0), layout="constrained")
    lo = float(np.nanmin([data["observed"].min(), data["predicted"].min()]))
    hi = float(np.nanmax([data["observed"].max(), data["predicted"].max()]))
    pad = 0.02
    extent = (lo - pad, hi + pad, lo - pad, hi + pad)
    hb = ax.hexbin(data["observed"], data["predicted"], gridsize=35, extent=extent, mincnt=1, cmap="viridis")
    ax.plot(extent[:2], extent[:2], color="0.3", lw=1, ls="--", label="1:1")
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    ax.set_aspect("equal")
    ax.set_xlabel("Observed SSM (m³/m³)")
    ax.set_ylabel("Predicted SSM (m³/m³)")
    ax.set_title(f"{model.replace('_', ' ')}: leave-one-probe-out")
    ax.text(0.03, 0.97, f"MAE = {s['mae']:.3f} m³/m³\nr = {s['r']:.2f}\nn = {s['n']}",
            transform=ax.transAxes, va="top", ha="left", fontsize=9,
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.8))
    ax.legend(loc="lower right")
    fig.colorbar(hb, ax=ax, label="Probe-days per bin")
    attribute(fig)
    return fig


def probe_timeseries(dataset: xr.Dataset, predictions: pd.DataFrame, probe: str | None = None) -> Figure:
    """Measured and predicted SSM at one probe with sigma0 VV and NDVI (Figs 20 and 27)."""
    probe = probe or str(dataset["probe"].values[0])
    if probe not in dataset["probe"].values:
        raise ValueError(f"probe {probe!r} is not in the dataset; probes: {list(dataset['probe'].values)}")
    at = dataset.sel(probe=probe)
    time = pd.to_datetime(at["time"].values)
    fig, (ax_sm, ax_s1, ax_s2) = plt.subplots(3, 1, figsize=(9, 7), sharex=True, layout="constrained")
    ax_sm.plot(time, at["ssm"].values, color="tab:blue", lw=1.2, label="Measured")
    pred = predictions[predictions["probe"] == probe]
    if len(pred):
        ax_sm.plot(pd.to_datetime(pred["time"]), pred["predicted"], "o", ms=3, color="tab:red", label="Predicted (RF)")
    ax_sm.set_ylabel("SSM (m³/m³)")
    ax_sm.set_title(f"Probe {probe} ({str(at['region'].values)})")
    ax_sm.legend(loc="upper right", fontsize=8)
    s1 = at["sigma0_vv_db"].to_series().dropna()
    ax_s1.plot(s1.index, s1.values, "o-", ms=3, lw=0.8, color="tab:green")
    ax_s1.set_ylabel("σ⁰ VV (dB)")
    ax_s2.plot(time, at["ndvi"].values, color="tab:olive", lw=1.2, label="NDVI")
    ax_s2.plot(time, at["ndwi"].values, color="tab:cyan", lw=1.2, label="NDWI")
    ax_s2.set_ylabel("Index (-)")
    ax_s2.set_xlabel("Date")
    ax_s2.legend(loc="upper right", fontsize=8)
    attribute(fig)
    return fig
