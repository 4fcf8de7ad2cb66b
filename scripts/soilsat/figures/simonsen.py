"""Figures after Simonsen (2021): the probe data (Figs 11-21) and the soil-moisture models (Figs 22-28)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import cast

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from soilsat.errors import ConfigError
from soilsat.evaluate.metrics import scores
from soilsat.extract.rasters import backscatter_bands_of
from soilsat.figures.common import (
    attribute,
    crs_name,
    landcover_name,
    map_panel,
    model_keys,
    model_label,
    panels,
    plt,
    read_map,
    select_model,
    unit_label,
)

STATIC = ("elevation", "slope", "aspect_x", "aspect_y", "clay", "silt", "sand", "organic_carbon", "base_saturation")
DYNAMIC = (
    "ssm",
    "ts_max",
    "sigma0_vv_db",
    "sigma0_vh_db",
    "incidence_angle",
    "ndvi",
    "ndwi",
    "precipitation",
    "dry_days",
    "tmin",
    "tmean",
    "tmax",
)
LABELS = {
    "ssm": "SSM",
    "ts_max": "TS max",
    "sigma0_vv": "σ⁰ VV",
    "sigma0_vh": "σ⁰ VH",
    "sigma0_vv_db": "σ⁰ VV",
    "sigma0_vh_db": "σ⁰ VH",
    "incidence_angle": "Incidence angle",
    "ndvi": "NDVI",
    "ndwi": "NDWI",
    "precipitation": "Precipitation",
    "dry_days": "Dry days",
    "tmin": "T min",
    "tmean": "T mean",
    "tmax": "T max",
    "elevation": "Elevation",
    "slope": "Slope",
    "aspect_x": "Aspect x",
    "aspect_y": "Aspect y",
    "clay": "Clay",
    "silt": "Silt",
    "sand": "Sand",
    "organic_carbon": "Organic carbon",
    "base_saturation": "Base saturation",
    "mean_ssm": "Mean SSM",
}
SSM_LABEL = "SSM (m³/m³)"
PREDICTIONS_COLUMNS = ("model", "probe", "time", "region", "landcover", "observed", "predicted")
AGRICULTURE = (211, 212)  # the thesis' agricultural land covers: non-irrigated arable and permanently irrigated


def variable_label(dataset: xr.Dataset, name: str) -> str:
    """'Name (unit)' of a dataset variable, the unit read from its attributes."""
    units = dataset[name].attrs.get("units", "1") if name in dataset else "m3 m-3"
    return f"{LABELS.get(name, name)} ({unit_label(units)})"


def _present(dataset: xr.Dataset, names: Sequence[str]) -> list[str]:
    """The names that are variables of the dataset, in order."""
    return [n for n in names if n in dataset.data_vars]


def pick_probe(dataset: xr.Dataset, probe: str | None) -> str:
    """The probe named by figures.probe, or the probe with the most soil-moisture days when it is null."""
    probes = [str(p) for p in dataset["probe"].values]
    if probe is None:
        counts = dataset["ssm"].notnull().sum("time")
        return str(dataset["probe"].values[int(np.argmax(counts.values))])
    if probe not in probes:
        raise ConfigError(f"figures.probe: probe {probe!r} is not in the probe dataset; probes are {probes}")
    return probe


def static_table(dataset: xr.Dataset) -> pd.DataFrame:
    """One row per probe: the static covariates and the probe's mean SSM."""
    table = pd.DataFrame(
        {name: dataset[name].values for name in _present(dataset, STATIC)}, index=dataset["probe"].values
    )
    table["mean_ssm"] = dataset["ssm"].mean("time").values
    return table


def daily_table(dataset: xr.Dataset, names: Sequence[str]) -> pd.DataFrame:
    """One row per probe-day with the named variables, static ones repeated, and region and land cover."""
    names = [n for n in dict.fromkeys([*names, "landcover"]) if n in dataset.variables]
    table = dataset[names].to_dataframe().reset_index()
    if "region" not in table:
        table["region"] = np.repeat(dataset["region"].values, dataset.sizes["time"])
    return table


def _correlation(table: pd.DataFrame, labels: Sequence[str], title: str) -> Figure:
    """Spearman correlation matrix of a table's columns with the coefficients written in the cells."""
    corr = table.corr(method="spearman").to_numpy()
    n = len(labels)
    size = max(5.0, 0.55 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size), layout="constrained")
    image = ax.imshow(np.ma.masked_invalid(corr), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_facecolor("0.85")
    ax.set_xticks(range(n), labels, rotation=90)
    ax.set_yticks(range(n), labels)
    fontsize = 8 if n <= 10 else 6.5
    for i in range(n):
        for j in range(n):
            value = corr[i, j]
            text = "n/a" if not np.isfinite(value) else f"{value:.2f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=fontsize,
                color="white" if np.isfinite(value) and abs(value) > 0.6 else "black",
            )
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="Spearman ρ (-)", shrink=0.8)
    return fig


def correlation_static(dataset: xr.Dataset) -> Figure:
    """Spearman correlation of the static covariates and the mean SSM across probes (Fig 11)."""
    table = static_table(dataset)
    labels = [LABELS.get(c, c) for c in table.columns]
    fig = _correlation(table, labels, f"Static variables: Spearman correlation over {len(table)} probes")
    return fig


def correlation_dynamic(dataset: xr.Dataset) -> Figure:
    """Spearman correlation of the dynamic variables over probe-days (Fig 12)."""
    names = _present(dataset, DYNAMIC)
    table = daily_table(dataset, names)[names]
    fig = _correlation(
        table,
        [LABELS.get(c, c) for c in names],
        f"Dynamic variables: Spearman correlation over {int(table['ssm'].notna().sum())} probe-days",
    )
    attribute(fig)
    return fig


def _violins(ax, groups: list[np.ndarray], labels: list[str], widths: Sequence[float] | float = 0.8) -> None:
    """Horizontal violins with medians, one per group, labelled on the y axis."""
    parts = ax.violinplot(
        groups,
        positions=range(len(groups)),
        orientation="horizontal",
        widths=widths,
        showmedians=True,
        showextrema=False,
    )
    for body in parts["bodies"]:
        body.set_facecolor("tab:blue")
        body.set_alpha(0.55)
    ax.set_yticks(range(len(groups)), labels)
    ax.set_ylim(-0.7, len(groups) - 0.3)
    ax.invert_yaxis()


def _normalised(table: pd.DataFrame) -> tuple[list[np.ndarray], list[str]]:
    """Columns scaled to mean 0 and standard deviation 1; constant or empty columns are left out."""
    groups, labels = [], []
    for name in table.columns:
        values = table[name].dropna().to_numpy(dtype=float)
        if values.size > 1 and values.std() > 0:
            groups.append((values - values.mean()) / values.std())
            labels.append(LABELS.get(name, name))
    return groups, labels


def violins_static(dataset: xr.Dataset) -> Figure:
    """Normalised distributions of the static covariates across probes (Fig 13)."""
    groups, labels = _normalised(static_table(dataset))
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.8), layout="constrained")
    _violins(ax, groups, labels)
    ax.set_xlabel("Normalised value (standard deviations from the mean)")
    ax.set_title("Static variables (μ = 0, σ = 1)")
    return fig


def violins_dynamic(dataset: xr.Dataset) -> Figure:
    """Normalised distributions of the dynamic variables over probe-days (Fig 14)."""
    names = _present(dataset, DYNAMIC)
    groups, labels = _normalised(daily_table(dataset, names)[names])
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.8), layout="constrained")
    _violins(ax, groups, labels)
    ax.set_xlabel("Normalised value (standard deviations from the mean)")
    ax.set_title("Dynamic variables (μ = 0, σ = 1, violin size unscaled)")
    attribute(fig)
    return fig


def ssm_by(dataset: xr.Dataset, by: str) -> Figure:
    """Distribution of measured SSM per land cover (Fig 15) or per region, scaled by sample size (Fig 16)."""
    if by not in ("landcover", "region"):
        raise ValueError(f"ssm_by groups by 'landcover' or 'region', not {by!r}")
    table = daily_table(dataset, ["ssm"]).dropna(subset=["ssm"])
    grouped = [(key, group["ssm"].to_numpy()) for key, group in table.groupby(by, sort=True) if len(group) > 1]
    name = landcover_name if by == "landcover" else str
    labels = [f"{name(key)}\nn = {len(values)}" for key, values in grouped]
    counts = np.array([len(values) for _, values in grouped], dtype=float)
    widths = 0.8 if by == "landcover" else list(0.85 * counts / counts.max())
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(grouped) + 1.8), layout="constrained")
    _violins(ax, [values for _, values in grouped], labels, widths)
    ax.set_xlabel(f"Measured {SSM_LABEL}")
    ax.set_title(
        "Measured SSM per land cover (violin size unscaled)"
        if by == "landcover"
        else "Measured SSM per region (violin size scaled by probe-days)"
    )
    return fig


def ssm_density(dataset: xr.Dataset, variable: str) -> Figure:
    """Hexbin density of measured SSM against a covariate such as sigma0 VV (Fig 17) or NDWI (Fig 19)."""
    table = daily_table(dataset, ["ssm", variable]).dropna(subset=["ssm", variable])
    fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    hexes = ax.hexbin(table[variable], table["ssm"], gridsize=30, mincnt=1, cmap="viridis")
    ax.set_xlabel(variable_label(dataset, variable))
    ax.set_ylabel(f"Measured {SSM_LABEL}")
    ax.set_title(f"SSM against {LABELS.get(variable, variable)} ({len(table)} probe-days)")
    fig.colorbar(hexes, ax=ax, label="Probe-days per bin")
    attribute(fig)
    return fig


def sigma0_by_landcover(dataset: xr.Dataset, variable: str = "sigma0_vv") -> Figure:
    """Density of sigma0 per land cover, bins of about 0.01 in linear sigma0 (Fig 18)."""
    table = daily_table(dataset, [variable]).dropna(subset=[variable])
    top = float(np.nanpercentile(table[variable], 99.5))
    bins = np.arange(0.0, top + 0.01, 0.01) if not variable.endswith("_db") else 40
    fig, ax = plt.subplots(figsize=(9.5, 4.8), layout="constrained")
    for key, group in table.groupby("landcover", sort=True):
        ax.hist(
            group[variable].clip(upper=top),
            bins=bins,  # type: ignore[arg-type]  # matplotlib's stub omits arrays of bin edges
            density=True,
            histtype="step",
            lw=1.4,
            label=f"{landcover_name(key)} (n = {len(group)})",
        )
    ax.set_xlabel(variable_label(dataset, variable))
    ax.set_ylabel("Probability density (-)")
    ax.set_title(f"{LABELS.get(variable, variable)} per land cover")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    attribute(fig)
    return fig


def indices_timeseries(dataset: xr.Dataset, probe: str | None = None) -> Figure:
    """Measured SSM with the interpolated NDVI and NDWI at one probe (Fig 20)."""
    probe = pick_probe(dataset, probe)
    at = dataset.sel(probe=probe)
    time = pd.to_datetime(at["time"].values)
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    ax.plot(time, at["ssm"].values, color="tab:blue", lw=1.4, label="SSM")
    ax.set_ylabel(f"Measured {SSM_LABEL}", color="tab:blue")
    twin = ax.twinx()
    twin.plot(time, at["ndvi"].values, color="tab:green", lw=1.2, label="NDVI")
    twin.plot(time, at["ndwi"].values, color="tab:cyan", lw=1.2, ls="--", label="NDWI")
    twin.set_ylabel("Vegetation index (-)")
    ax.set_xlabel("Date")
    _date_axis(ax)
    ax.set_title(f"Probe {probe} ({at['region'].values}, {landcover_name(at['landcover'].values)})")
    lines = ax.get_lines() + twin.get_lines()
    fig.legend(lines, [cast(str, line.get_label()) for line in lines], loc="outside right upper", fontsize=8)
    attribute(fig)
    return fig


def weather_timeseries(dataset: xr.Dataset, probe: str | None = None) -> Figure:
    """Measured SSM, the 15-day mean of TS_max (three days ahead) and precipitation at one probe (Fig 21)."""
    probe = pick_probe(dataset, probe)
    at = dataset.sel(probe=probe)
    time = pd.to_datetime(at["time"].values)
    # The thesis smooths TS_max with a 15-day rolling mean moved three days back in time.
    ts = pd.Series(at["ts_max"].values, index=time).rolling(15, min_periods=8).mean().shift(-3)
    fig, (ax_sm, ax_ts, ax_p) = plt.subplots(3, 1, figsize=(9, 6.5), sharex=True, layout="constrained")
    ax_sm.plot(time, at["ssm"].values, color="tab:blue", lw=1.4)
    ax_sm.set_ylabel(SSM_LABEL)
    ax_sm.set_title(f"Probe {probe} ({at['region'].values}, {landcover_name(at['landcover'].values)})")
    ax_ts.plot(time, ts.values, color="tab:red", lw=1.4)
    ax_ts.set_ylabel("TS max, 15-day mean (°C)")
    ax_p.bar(time, at["precipitation"].values, width=0.9, color="tab:cyan")
    ax_p.set_ylabel("Precipitation (mm/day)")
    ax_p.set_xlabel("Date")
    _date_axis(ax_p)
    return fig


def _date_axis(ax) -> None:
    """Concise date ticks that do not crowd."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def in_scope(comparison: pd.DataFrame, scope: str) -> pd.DataFrame:
    """The common probe-days of one scope of the comparison table ('all' or 'agriculture')."""
    return comparison[comparison["scope"] == scope]


def regional_mae(comparison: pd.DataFrame, landcovers: Sequence[int] = AGRICULTURE) -> Figure:
    """MAE per region of every model and product on common probe-days: (A) all land covers, (B) farmland (Fig 22)."""
    everywhere = in_scope(comparison, "all")
    farmed = in_scope(comparison, "agriculture")
    keys = model_keys(pd.concat([everywhere, farmed]))
    parts = [("A: all land covers", everywhere)]
    if len(farmed):
        parts.append((f"B: land covers {', '.join(map(str, landcovers))}", farmed))
    regions = sorted(comparison["region"].astype(str).unique())
    fig, axes = plt.subplots(
        1,
        len(parts),
        figsize=(max(4.5, 1.3 * len(regions) + 2.5) * len(parts) + 2, 4.6),
        layout="constrained",
        sharey=True,
        squeeze=False,
    )
    width = 0.8 / max(len(keys), 1)
    for ax, (title, table) in zip(axes[0], parts):
        for k, (model, variant) in enumerate(keys):
            rows = select_model(table, model, variant)
            if rows.empty:  # the agriculture variants are not in panel A
                continue
            mae = (rows["predicted"] - rows["observed"]).abs().groupby(rows["region"].astype(str)).mean()
            ax.bar(
                np.arange(len(regions)) + (k - (len(keys) - 1) / 2) * width,
                mae.reindex(regions).to_numpy(),
                width,
                label=model_label(model, variant),
            )
        ax.set_xticks(range(len(regions)), regions)
        ax.set_xlabel("Region")
        ax.set_title(title, fontsize=10)
    axes[0, 0].set_ylabel("MAE (m³/m³)")
    axes[0, 0].set_ylim(0, None)
    axes[0, -1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.suptitle("Mean absolute error of SSM per region")
    attribute(fig)
    return fig


def error_by_landcover(predictions: pd.DataFrame) -> Figure:
    """Distributions of absolute errors per land cover for every model (Fig 23)."""
    keys = model_keys(predictions)
    covers = sorted(predictions["landcover"].dropna().unique())
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(covers) * max(1, len(keys)) ** 0.5 + 2.2), layout="constrained")
    step = 0.8 / max(len(keys), 1)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (model, variant) in enumerate(keys):
        rows = select_model(predictions, model, variant)
        errors = (rows["predicted"] - rows["observed"]).abs()
        data = [errors[(rows["landcover"] == c).to_numpy()].dropna().to_numpy() for c in covers]
        positions = np.arange(len(covers)) + (k - (len(keys) - 1) / 2) * step
        keep = [i for i, d in enumerate(data) if d.size]
        parts = ax.boxplot(
            [data[i] for i in keep],
            positions=positions[keep],
            widths=step * 0.85,
            orientation="horizontal",
            patch_artist=True,
            showfliers=False,
        )
        for box in parts["boxes"]:
            box.set_facecolor(colours[k % len(colours)])
            box.set_alpha(0.7)
        ax.plot([], [], "s", color=colours[k % len(colours)], label=model_label(model, variant))
    ax.set_yticks(range(len(covers)), [landcover_name(c) for c in covers])
    ax.set_ylim(-0.6, len(covers) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("Absolute error |predicted - observed| (m³/m³)")
    ax.set_title("Absolute errors per land cover")
    ax.legend(fontsize=8, loc="lower right")
    attribute(fig)
    return fig


def observed_vs_predicted(predictions: pd.DataFrame, landcovers: Sequence[int] | None = None) -> Figure:
    """Observed against predicted SSM per model as hexbin density with MAE and r (Figs 24-25)."""
    if landcovers is not None:
        predictions = predictions[predictions["landcover"].isin(list(landcovers))]
        if predictions.empty:  # a study without such probes still gets its (empty) figure
            fig, ax = plt.subplots(figsize=(6, 2.5), layout="constrained")
            ax.set_axis_off()
            ax.text(
                0.5, 0.5, f"No predictions on land covers {', '.join(map(str, landcovers))}", ha="center", va="center"
            )
            return fig
    keys = model_keys(predictions)
    valid = predictions[["observed", "predicted"]].to_numpy(dtype=float)
    lo, hi = float(np.nanmin(valid)), float(np.nanmax(valid))
    pad = 0.02 * (hi - lo) + 0.005
    extent = (lo - pad, hi + pad, lo - pad, hi + pad)
    fig, axes = panels(len(keys), 4.2, 3)
    for ax, (model, variant) in zip(axes, keys):
        data = select_model(predictions, model, variant).dropna(subset=["observed", "predicted"])
        s = scores(data["observed"], data["predicted"])
        hexes = ax.hexbin(data["observed"], data["predicted"], gridsize=30, extent=extent, mincnt=1, cmap="viridis")
        ax.plot(extent[:2], extent[:2], color="0.3", lw=1, ls="--", label="1:1")
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])
        ax.set_aspect("equal")
        ax.set_xlabel(f"Observed {SSM_LABEL}")
        ax.set_ylabel(f"Predicted {SSM_LABEL}")
        ax.set_title(model_label(model, variant))
        ax.text(
            0.03,
            0.97,
            f"MAE = {s['mae']:.3f} m³/m³\nr = {s['r']:.2f}\nn = {s['n']}",
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=8,
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.8),
        )
        ax.legend(loc="lower right", fontsize=8)
        fig.colorbar(hexes, ax=ax, label="Probe-days per bin", shrink=0.8)
    fig.suptitle("Observed against predicted SSM, leave-one-probe-out")
    attribute(fig)
    return fig


def weekly_error_heatmap(predictions: pd.DataFrame, bin_width: float = 0.02) -> Figure:
    """Weekly counts of absolute errors over time per model, as a heat map (Fig 26)."""
    keys = model_keys(predictions)
    time = pd.to_datetime(predictions["time"])
    weeks = pd.date_range(time.min().to_period("W").start_time, time.max() + pd.Timedelta(days=7), freq="7D")
    errors = (predictions["predicted"] - predictions["observed"]).abs()
    top = max(float(np.nanpercentile(errors, 99)), bin_width)
    error_bins = np.arange(0.0, top + bin_width, bin_width)
    fig, axes = plt.subplots(
        len(keys), 1, figsize=(9, 2.6 * len(keys) + 1.0), sharex=True, layout="constrained", squeeze=False
    )
    for ax, (model, variant) in zip(axes[:, 0], keys):
        rows = select_model(predictions, model, variant).dropna(subset=["observed", "predicted"])
        err = (rows["predicted"] - rows["observed"]).abs().clip(upper=error_bins[-1] - 1e-9)
        counts, _, _ = np.histogram2d(
            mdates.date2num(pd.to_datetime(rows["time"])), err, bins=[mdates.date2num(weeks), error_bins]
        )
        mesh = ax.pcolormesh(weeks, error_bins, np.ma.masked_equal(counts.T, 0), cmap="magma_r", shading="flat")
        ax.set_ylabel("Absolute error (m³/m³)")
        ax.set_title(model_label(model, variant), fontsize=10)
        fig.colorbar(mesh, ax=ax, label="Probe-days per week")
    axes[-1, 0].set_xlabel("Week")
    _date_axis(axes[-1, 0])
    fig.suptitle("Weekly absolute errors of SSM predictions")
    attribute(fig)
    return fig


def predicted_timeseries(predictions: pd.DataFrame, probe: str | None = None) -> Figure:
    """Predicted SSM of each model against the measured SSM at one probe (Fig 27)."""
    probes = predictions["probe"].astype(str)
    if probe is None:
        probe = str(probes.value_counts().idxmax())
    elif probe not in set(probes):
        raise ConfigError(f"figures.probe: probe {probe!r} has no predictions; probes are {sorted(set(probes))}")
    at = predictions[probes == probe]
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    measured = at.drop_duplicates("time").assign(time=lambda t: pd.to_datetime(t["time"])).sort_values("time")
    ax.plot(measured["time"], measured["observed"], color="black", ls="--", lw=1.5, label="Measured")
    for model, variant in model_keys(at):
        rows = select_model(at, model, variant).assign(time=lambda t: pd.to_datetime(t["time"])).sort_values("time")
        ax.plot(rows["time"], rows["predicted"], lw=1.3, marker="o", ms=2.5, label=f"{model_label(model, variant)}")
    ax.set_ylabel(SSM_LABEL)
    ax.set_xlabel("Date")
    _date_axis(ax)
    first = at.iloc[0]
    ax.set_title(f"Probe {probe} ({first['region']}, {landcover_name(first['landcover'])}): predicted and measured")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    attribute(fig)
    return fig


def ssm_map_with_sigma0(ssm_path: str | os.PathLike, sigma0_path: str | os.PathLike) -> Figure:
    """The SSM map of one date beside the Sentinel-1 sigma0 VV it was predicted from (Fig 28)."""
    ssm = read_map(ssm_path)
    sigma0 = read_map(sigma0_path, band=backscatter_bands_of(str(sigma0_path), ["VV"])[0], units="dB")
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10.0 * np.log10(np.where(sigma0.values > 0, sigma0.values, np.nan))
    fig, (ax_sm, ax_s1) = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
    map_panel(ax_sm, ssm, f"SSM ({unit_label(ssm.units)})", cmap="YlGnBu")
    map_panel(ax_s1, sigma0, "σ⁰ VV (dB)", cmap="gray", values=db)
    date = ssm.tags.get("date", "")
    ax_sm.set_title(f"Predicted SSM {date}")
    ax_s1.set_title(f"Sentinel-1 σ⁰ VV {sigma0.tags.get('sensing_start', '')[:10]}")
    fig.suptitle(f"{ssm.tags.get('region', '')} ({crs_name(ssm.crs)}), model: {ssm.tags.get('model', 'n/a')}")
    attribute(fig)
    return fig


# The figures of the probe dataset, by the name their rule's wildcard uses; each takes (dataset, probe).
DATA_FIGURES = {
    "correlation_static": lambda dataset, probe: correlation_static(dataset),
    "correlation_dynamic": lambda dataset, probe: correlation_dynamic(dataset),
    "violins_static": lambda dataset, probe: violins_static(dataset),
    "violins_dynamic": lambda dataset, probe: violins_dynamic(dataset),
    "ssm_by_landcover": lambda dataset, probe: ssm_by(dataset, "landcover"),
    "ssm_by_region": lambda dataset, probe: ssm_by(dataset, "region"),
    "ssm_sigma0": lambda dataset, probe: ssm_density(dataset, "sigma0_vv"),
    "sigma0_by_landcover": lambda dataset, probe: sigma0_by_landcover(dataset),
    "ssm_ndwi": lambda dataset, probe: ssm_density(dataset, "ndwi"),
    "probe_indices": indices_timeseries,
    "probe_weather": weather_timeseries,
}

# The figures of the soil-moisture models; each takes (comparison, predictions, probe): the common probe-days of
# every model and product per scope (soilsat.evaluate.compare), every model's own predictions, the figure's probe.
MODEL_FIGURES = {
    "regional_mae": lambda comparison, predictions, probe: regional_mae(comparison),
    "error_by_landcover": lambda comparison, predictions, probe: error_by_landcover(in_scope(comparison, "all")),
    "observed_vs_predicted": lambda comparison, predictions, probe: observed_vs_predicted(in_scope(comparison, "all")),
    "observed_vs_predicted_agriculture": lambda comparison, predictions, probe: observed_vs_predicted(
        in_scope(comparison, "agriculture"), landcovers=AGRICULTURE
    ),
    "weekly_error": lambda comparison, predictions, probe: weekly_error_heatmap(in_scope(comparison, "all")),
    "probe_predictions": lambda comparison, predictions, probe: predicted_timeseries(predictions, probe),
}
