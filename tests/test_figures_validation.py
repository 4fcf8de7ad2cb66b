"""Validation figures on small synthetic tables and a map COG with uncertainty bands: drawn, labelled, no overlap."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import rasterio

from soilsat.evaluate.map_calibration import band_metadata
from soilsat.figures.common import layout_problems, save
from soilsat.figures.maps import quicklook
from soilsat.figures.validation import (
    aoa_figure,
    collocation_figure,
    coverage_figure,
    protocols_figure,
    strata_boxplots,
)
from soilsat.grid import StudyGrid
from soilsat.io import write_cog

RNG = np.random.default_rng(3)
NAMES = ["lstm_minimum", "random_forest_full", "ecv_sm"]


def stations() -> pd.DataFrame:
    """Per-station metrics of three models at twelve stations in two regions, networks, covers, textures, climates."""
    rows = []
    for i in range(12):
        for name in NAMES:
            rows.append(
                dict(
                    name=name,
                    probe=f"p{i}",
                    region=["skjern", "duero"][i % 2],
                    network=["HOBE", "REMEDHUS"][i % 2],
                    landcover=["211", "231", "311"][i % 3],
                    texture=["loamy sand", "sandy loam"][i % 2],
                    climate=["Cfb", "BSk"][i % 2],
                    r=RNG.uniform(0.3, 0.9),
                    ubrmsd=RNG.uniform(0.02, 0.06),
                    bias=RNG.normal(0, 0.03),
                )
            )
    return pd.DataFrame(rows)


def test_strata_boxplots(tmp_path):
    fig = strata_boxplots(
        stations(),
        NAMES,
        ["region", "network", "landcover", "texture", "climate"],
        ["r", "ubrmsd", "bias"],
        "m³/m³",
        "Simonsen 2021: per-station metrics, raw values",
    )
    assert layout_problems(fig) == []
    assert any("Non-irrigated" in t.get_text() for ax in fig.axes for t in ax.get_xticklabels())
    save(fig, tmp_path / "strata.png")
    empty = strata_boxplots(stations().iloc[:0], [], ["region"], ["r"], "m³/m³", "Tsagkatakis 2021")
    assert layout_problems(empty) == [] and "min_pairs" in empty.axes[0].texts[0].get_text()


def test_collocation_figure():
    rows = []
    for kind in ("raw", "anomaly"):
        for product in ("csm", "ecv_sm"):
            for i in range(5):
                for estimate, err in (("in situ", 0.02), ("lstm_minimum", 0.04), (product, 0.05)):
                    rows.append(
                        dict(
                            scope="all",
                            kind=kind,
                            model="lstm_minimum",
                            product=product,
                            probe=f"p{i}",
                            estimate=estimate,
                            err_std=err + RNG.normal(0, 0.005),
                            snr_db=RNG.normal(5, 2),
                        )
                    )
    fig = collocation_figure(pd.DataFrame(rows))
    assert layout_problems(fig) == [] and len(fig.axes) == 8
    empty = collocation_figure(pd.DataFrame(rows).iloc[:0])
    assert layout_problems(empty) == [] and "triple_collocation" in empty.axes[0].texts[0].get_text()


def test_coverage_and_protocols_figures():
    levels = [0.5, 0.8, 0.9, 0.95]
    coverage = pd.DataFrame(
        [
            dict(model=m, variant=v, level=lvl, coverage=lvl + RNG.normal(0, 0.02), mean_width=lvl * 0.1)
            for m, v in (("lstm", "full"), ("lstm", "minimum"), ("map random forest", "ssm"))
            for lvl in levels
        ]
    )
    assert layout_problems(coverage_figure(coverage, "m³/m³")) == []
    protocols = pd.DataFrame(
        {
            "protocol": ["paper: leave-one-probe-out", "random k-fold", "blocked by block"],
            "model": ["random_forest (full)", "map random forest", "map random forest"],
            "rmse": [0.05, 0.03, 0.07],
            "r2": [0.4, 0.7, -0.2],
        }
    )
    assert layout_problems(protocols_figure(protocols, "m³/m³")) == []


@pytest.fixture
def cog(tmp_path) -> str:
    """A clay map COG with its interval and AOA bands, a corner outside the AOA."""
    grid = StudyGrid(region="skjern", epsg=32632, x0=480000.0, y0=6200000.0, width=60, height=50)
    y, x = np.mgrid[0:50, 0:60]
    clay = (5 + 20 * x / 60).astype(np.float32)
    di = (x + y) / 60.0
    aoa = (di <= 1.2).astype(np.float32)
    bands = np.stack([clay, clay - 3 - di, clay + 3 + di, di, aoa]).astype(np.float32)
    bands[:, :3, :3] = np.nan
    names, tags = band_metadata("clay", "percent", "topsoil clay content", 0.9)
    path = tmp_path / "clay_skjern.tif"
    write_cog(
        path,
        bands,
        grid,
        names,
        band_tags=tags,
        tags={"region": "skjern", "units": "percent", "interval_level": "90 %"},
    )
    return str(path)


def test_aoa_figure_and_the_greyed_quicklook(cog):
    fig = aoa_figure(cog)
    assert layout_problems(fig) == [] and len([ax for ax in fig.axes if ax.get_label() != "<colorbar>"]) == 4
    titles = [ax.get_title() for ax in fig.axes]
    assert any("90 %" in t for t in titles) and any("% inside" in t for t in titles)
    look = quicklook(cog)
    assert layout_problems(look) == []
    legend = look.axes[0].get_legend()
    assert legend is not None and "area of applicability" in legend.get_texts()[0].get_text()
    with rasterio.open(cog) as src:
        assert src.descriptions[0] == "clay"
