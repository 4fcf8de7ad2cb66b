"""Figure functions on small synthetic stored results: files written, labels, titles and units, no overlapping text."""

from __future__ import annotations

import shutil

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.colors import same_color
from PIL import Image

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.errors import ConfigError, ProductError
from soilsat.evaluate.compare import comparison_metrics
from soilsat.evaluate.metrics import metrics_table
from soilsat.figures import maps, simonsen, tables, tsagkatakis, tziolas, zhang
from soilsat.figures.common import layout_problems, read_map, read_tables, save
from soilsat.grid import StudyGrid
from soilsat.io import write_cog

RNG = np.random.default_rng(7)
PROBES = [f"{region}-{i:02d}" for region in ("skjern", "duero") for i in range(1, 4)]
TIMES = pd.date_range("2020-04-01", periods=40, freq="D")
COVERS = [211, 231, 311, 211, 312, 211]


@pytest.fixture(scope="module")
def probes(tmp_path_factory) -> xr.Dataset:
    """A stored probe dataset shaped like extract.probes' output: six probes, 40 days."""
    shape = (len(PROBES), len(TIMES))
    ssm = np.clip(0.2 + 0.08 * RNG.standard_normal(shape), 0.02, 0.5)
    ssm[0, :5] = np.nan
    vv = 0.05 + 0.3 * ssm + 0.01 * RNG.standard_normal(shape)
    dynamic = {
        "ssm": ("m3 m-3", ssm),
        "ts_max": ("degC", 12 + 5 * RNG.standard_normal(shape)),
        "sigma0_vv": ("1", vv),
        "sigma0_vh": ("1", vv / 5),
        "sigma0_vv_db": ("dB", 10 * np.log10(np.abs(vv))),
        "sigma0_vh_db": ("dB", 10 * np.log10(np.abs(vv / 5))),
        "incidence_angle": ("degree", 30 + 8 * RNG.random(shape)),
        "ndvi": ("1", 0.3 + 0.4 * RNG.random(shape)),
        "ndwi": ("1", -0.1 + 0.4 * RNG.random(shape)),
        "precipitation": ("mm", RNG.exponential(2.0, shape)),
        "dry_days": ("day", RNG.integers(0, 9, shape)),
        "tmin": ("degC", 5 + RNG.standard_normal(shape)),
        "tmean": ("degC", 10 + RNG.standard_normal(shape)),
        "tmax": ("degC", 15 + RNG.standard_normal(shape)),
    }
    static = {
        "elevation": "m",
        "slope": "percent",
        "aspect_x": "1",
        "aspect_y": "1",
        "clay": "percent",
        "silt": "percent",
        "sand": "percent",
        "organic_carbon": "g kg-1",
        "base_saturation": "percent",
    }
    data = {name: (("probe", "time"), values, {"units": units}) for name, (units, values) in dynamic.items()}
    data |= {name: (("probe",), RNG.random(len(PROBES)) * 50, {"units": units}) for name, units in static.items()}
    data["landcover"] = (("probe",), np.array(COVERS), {"units": "1"})
    dataset = xr.Dataset(
        data, coords={"probe": PROBES, "time": TIMES, "region": ("probe", [p.split("-")[0] for p in PROBES])}
    )
    path = tmp_path_factory.mktemp("probes") / "probes.nc"
    dataset.to_netcdf(path)
    return xr.open_dataset(path)


def model_predictions(dataset: xr.Dataset, model: str, variant: str, noise: float) -> pd.DataFrame:
    """Tidy leave-one-probe-out predictions of one model with a repeat-mean row per probe-day."""
    table = dataset[["ssm", "landcover"]].to_dataframe().reset_index().dropna(subset=["ssm"])
    table = table.rename(columns={"ssm": "observed"})
    table["predicted"] = table["observed"] + noise * RNG.standard_normal(len(table))
    return table.assign(model=model, variant=variant, repeat="mean")[
        ["model", "variant", "repeat", "probe", "time", "region", "landcover", "observed", "predicted"]
    ]


@pytest.fixture(scope="module")
def stored_predictions(probes, tmp_path_factory) -> list:
    """Predictions and metrics CSVs of three models stored in the tidy layout of results/<study>/models/."""
    root = tmp_path_factory.mktemp("models")
    paths = []
    for model, variant, noise in (
        ("random_forest", "default", 0.03),
        ("lstm", "minimum", 0.02),
        ("climatology", "default", 0.06),
    ):
        folder = root / (model if variant == "default" else f"{model}_{variant}")
        folder.mkdir()
        predictions = model_predictions(probes, model, variant, noise)
        predictions.to_csv(folder / "predictions.csv", index=False)
        metrics_table(predictions).to_csv(folder / "metrics.csv", index=False)
        paths.append(folder)
    return paths


def texts_of(fig) -> list[str]:
    """Every text string of a figure: titles, labels, tick labels, texts and legend entries."""
    found = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        found.append(fig._suptitle.get_text())
    for ax in fig.axes:
        found += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        found += [t.get_text() for t in ax.texts]
        found += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        if ax.get_legend():
            found += [t.get_text() for t in ax.get_legend().get_texts()]
    for legend in fig.legends:
        found += [t.get_text() for t in legend.get_texts()]
    return found


def check(fig, path, *, labels=(), attributed=True) -> list[str]:
    """Assert the figure's layout is clean, the expected labels appear, and the PNG is written; returns its texts."""
    assert layout_problems(fig) == []
    texts = texts_of(fig)
    for label in labels:
        assert any(label in t for t in texts), f"{label!r} not among {texts}"
    assert (COPERNICUS_ATTRIBUTION in texts) == attributed
    save(fig, path)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 400 and image.size[1] > 300
    return texts


def test_correlation_matrices(probes, tmp_path):
    fig = simonsen.correlation_dynamic(probes)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["SSM", "TS max", "σ⁰ VV"]
    cells = {t.get_text() for t in ax.texts}
    assert "1.00" in cells and len(ax.texts) == 12 * 12
    check(fig, tmp_path / "dyn.png", labels=["Spearman ρ (-)", "Spearman correlation over 235 probe-days"])
    fig = simonsen.correlation_static(probes)
    check(fig, tmp_path / "static.png", labels=["Mean SSM", "over 6 probes"], attributed=False)


def test_violins_and_ssm_distributions(probes, tmp_path):
    fig = simonsen.violins_dynamic(probes)
    assert len(fig.axes[0].get_yticklabels()) == 12
    check(fig, tmp_path / "vd.png", labels=["Normalised value (standard deviations from the mean)"])
    check(simonsen.violins_static(probes), tmp_path / "vs.png", labels=["Base saturation"], attributed=False)
    fig = simonsen.ssm_by(probes, "landcover")
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[0].startswith("Non-irrigated arable (211)") and "n = 115" in ticks[0]
    check(fig, tmp_path / "lc.png", labels=["Measured SSM (m³/m³)"], attributed=False)
    check(simonsen.ssm_by(probes, "region"), tmp_path / "rg.png", labels=["duero\nn = 120"], attributed=False)
    with pytest.raises(ValueError, match="'landcover' or 'region'"):
        simonsen.ssm_by(probes, "probe")


def test_densities_and_sigma0_by_landcover(probes, tmp_path):
    check(
        simonsen.ssm_density(probes, "sigma0_vv"),
        tmp_path / "s0.png",
        labels=["σ⁰ VV (-)", "Measured SSM (m³/m³)", "Probe-days per bin"],
    )
    check(simonsen.ssm_density(probes, "ndwi"), tmp_path / "ndwi.png", labels=["NDWI (-)"])
    fig = simonsen.sigma0_by_landcover(probes)
    assert len(fig.legends[0].get_texts()) == 4
    check(fig, tmp_path / "s0lc.png", labels=["Coniferous forest (312) (n = 40)"])


def test_probe_time_series(probes, tmp_path):
    fig = simonsen.indices_timeseries(probes, "duero-02")
    assert fig.axes[0].get_title() == "Probe duero-02 (duero, Coniferous forest (312))"
    check(fig, tmp_path / "idx.png", labels=["Measured SSM (m³/m³)", "Vegetation index (-)", "NDWI"])
    fig = simonsen.weather_timeseries(probes, None)
    assert fig.axes[0].get_title().startswith("Probe skjern-02")  # probe 0 lacks five days, so another is picked
    smoothed = fig.axes[1].get_lines()[0].get_ydata()
    assert np.isnan(smoothed[:4]).all() and np.isfinite(smoothed[10:30]).all()
    check(fig, tmp_path / "w.png", labels=["TS max, 15-day mean (°C)", "Precipitation (mm/day)"], attributed=False)
    with pytest.raises(ConfigError, match="figures.probe: probe 'nowhere-9' is not in the probe dataset"):
        simonsen.indices_timeseries(probes, "nowhere-9")


def test_model_figures_take_a_list_of_stored_predictions(stored_predictions, tmp_path):
    predictions = read_tables([p / "predictions.csv" for p in stored_predictions], simonsen.PREDICTIONS_COLUMNS)
    metrics, comparison = comparison_metrics(predictions)
    metrics = metrics[(metrics["rows"] == "common") & (metrics["scope"] == "all")]
    assert len(simonsen.in_scope(comparison, "all")) == len(predictions)  # every model predicts every probe-day
    fig = simonsen.observed_vs_predicted(simonsen.in_scope(comparison, "all"))
    assert [ax.get_title() for ax in fig.axes[:3]] == ["Random forest", "LSTM minimum", "Climatology"]
    mae = np.abs(predictions.predicted - predictions.observed)[predictions.model == "lstm"].mean()
    assert f"MAE = {mae:.3f} m³/m³" in fig.axes[1].texts[0].get_text()
    check(fig, tmp_path / "ovp.png", labels=["Observed SSM (m³/m³)", "Predicted SSM (m³/m³)"])
    fig = simonsen.observed_vs_predicted(predictions, landcovers=[211])
    assert "n = 115" in fig.axes[0].texts[0].get_text()
    fig = simonsen.observed_vs_predicted(predictions, landcovers=[999])
    assert fig.axes[0].texts[0].get_text() == "No predictions on land covers 999"
    fig = simonsen.regional_mae(comparison)
    assert [ax.get_title() for ax in fig.axes] == ["A: all land covers", "B: land covers 211, 212"]
    bars = fig.axes[0].patches
    assert len(bars) == 3 * 2 and len(fig.axes[1].patches) == 3 * 2
    expected = metrics[(metrics.level == "region") & (metrics.model == "climatology")].set_index("group")["mae"]
    assert bars[4].get_height() == pytest.approx(expected["duero"])  # bars per model in region order
    farmed = predictions[(predictions.landcover == 211) & (predictions.model == "lstm")]
    assert fig.axes[1].patches[3].get_height() == pytest.approx(
        (farmed.predicted - farmed.observed).abs()[farmed.region == "skjern"].mean()
    )
    check(fig, tmp_path / "mae.png", labels=["MAE (m³/m³)", "Region"])
    check(
        simonsen.error_by_landcover(predictions),
        tmp_path / "err.png",
        labels=["Absolute error |predicted - observed| (m³/m³)", "Pastures (231)", "LSTM minimum"],
    )
    fig = simonsen.weekly_error_heatmap(predictions)
    assert len(fig.axes) == 6  # three panels and their colour bars
    total = sum(int(np.ma.filled(ax.collections[0].get_array(), 0).sum()) for ax in fig.axes[:3])
    assert total == len(predictions)
    check(fig, tmp_path / "heat.png", labels=["Probe-days per week", "Absolute error (m³/m³)"])
    fig = simonsen.predicted_timeseries(predictions, "duero-01")
    assert [line.get_label() for line in fig.axes[0].get_lines()] == [
        "Measured",
        "Random forest",
        "LSTM minimum",
        "Climatology",
    ]
    check(fig, tmp_path / "pts.png", labels=["SSM (m³/m³)", "Measured", "Climatology"])
    with pytest.raises(ConfigError, match="probe 'x' has no predictions"):
        simonsen.predicted_timeseries(predictions, "x")


def test_read_tables_names_the_file(tmp_path):
    bad = tmp_path / "metrics.csv"
    bad.write_text("model,mae\nrf,0.1\n")
    with pytest.raises(ProductError, match=r"metrics.csv: missing column\(s\) variant, probe"):
        read_tables([bad], simonsen.PREDICTIONS_COLUMNS[:1] + ("variant", "probe"))
    with pytest.raises(ProductError, match="absent.csv: table not found"):
        read_tables([tmp_path / "absent.csv"], ["model"])


def test_mae_tables(stored_predictions, tmp_path):
    predictions = read_tables([p / "predictions.csv" for p in stored_predictions], simonsen.PREDICTIONS_COLUMNS)
    metrics = comparison_metrics(predictions)[0]
    table = tables.mae_table(metrics, "landcover")
    assert list(table.columns) == ["n", "Random forest", "LSTM minimum", "Climatology"]
    assert table.index[0] == "Non-irrigated arable (211)" and table["n"].iloc[0] == 115
    expected = metrics.query(
        "level == 'landcover' and model == 'lstm' and group == '231' and rows == 'common' and scope == 'all'"
    )["mae"].iloc[0]
    assert table.loc["Pastures (231)", "LSTM minimum"] == pytest.approx(expected)
    tables.write_table(tables.mae_table(metrics, "probe"), tmp_path / "b1.csv", tmp_path / "b1.md")
    lines = (tmp_path / "b1.md").read_text().splitlines()
    assert lines[0] == "| probe | n | Random forest | LSTM minimum | Climatology |" and len(lines) == 2 + 6
    assert pd.read_csv(tmp_path / "b1.csv", index_col=0).shape == (6, 4)
    with pytest.raises(ProductError, match="no rows of level 'region2'"):
        tables.mae_table(metrics, "region2")


def grid_of(region: str) -> StudyGrid:
    """A small 10 m grid in UTM 32N."""
    return StudyGrid(region=region, epsg=32632, x0=480000.0, y0=6200000.0, width=60, height=50)


@pytest.fixture(scope="module")
def cogs(tmp_path_factory) -> dict:
    """Synthetic map and sigma0 COGs written the way the workflow writes them."""
    root = tmp_path_factory.mktemp("maps")
    y, x = np.mgrid[0:50, 0:60]
    ssm = 0.1 + 0.3 * x / 60
    ssm[:5, :5] = np.nan
    paths = {
        "ssm": root / "ssm_skjern_20200410.tif",
        "s1": root / "s1.tif",
        "clay": [root / "clay_skjern.tif", root / "clay_duero.tif"],
        "bare": root / "bare.tif",
    }
    write_cog(
        paths["ssm"],
        ssm,
        grid_of("skjern"),
        ["ssm"],
        tags={
            "region": "skjern",
            "date": "2020-04-10",
            "units": "m3 m-3",
            "model": "random_forest",
            "attribution": COPERNICUS_ATTRIBUTION,
        },
    )
    write_cog(
        paths["s1"],
        np.stack([0.02 + 0.1 * ssm, 0.004 + 0.02 * ssm, 35 + 0 * ssm, 1 + 0 * ssm]),
        grid_of("skjern"),
        ["sigma0_VV", "sigma0_VH", "incidence_angle", "mask"],
        tags={"region": "skjern", "sensing_start": "2020-04-10T05:50:00"},
    )
    for path, region in zip(paths["clay"], ("skjern", "duero")):
        write_cog(path, 10 + 30 * y / 50.0, grid_of(region), ["clay"], tags={"region": region, "units": "percent"})
    write_cog(paths["bare"], ssm, grid_of("skjern"), ["ssm"], tags={"region": "skjern"})
    return paths


def test_ssm_map_beside_sigma0(cogs, tmp_path):
    fig = simonsen.ssm_map_with_sigma0(cogs["ssm"], cogs["s1"])
    colourbars = [ax.get_ylabel() for ax in fig.axes[2:]]
    assert colourbars == ["SSM (m³/m³)", "σ⁰ VV (dB)"]
    image = fig.axes[1].images[0].get_array()
    assert np.nanmax(image) == pytest.approx(10 * np.log10(0.02 + 0.1 * 0.4), abs=0.05)
    extent = fig.axes[0].images[0].get_extent()
    assert extent == pytest.approx([480.0, 480.6, 6199.5, 6200.0])
    check(
        fig,
        tmp_path / "m28.png",
        labels=[
            "Predicted SSM 2020-04-10",
            "Easting (km)",
            "Northing (km)",
            "skjern (EPSG:32632)",
            "Sentinel-1 σ⁰ VV 2020-04-10",
        ],
    )


def test_quicklook_reads_units_and_crs_from_tags(cogs, tmp_path):
    fig = maps.quicklook(cogs["ssm"])
    assert fig.axes[1].get_ylabel() == "Surface soil moisture (m³/m³)"
    texts = check(fig, tmp_path / "q.png", labels=["EPSG:32632", "2020-04-10", "km"])
    assert "100 m" not in texts and any(t in ("0.1 km", "0.2 km") for t in texts)  # scale bar in km
    with pytest.raises(ProductError, match="bare.tif: no 'units' tag"):
        maps.quicklook(cogs["bare"])
    with pytest.raises(ProductError, match="no band 'sigma0_HH'"):
        read_map(cogs["s1"], band="sigma0_HH")
    fig = maps.map_panels(cogs["clay"], "Topsoil clay per region")
    limits = {ax.images[0].get_clim() for ax in fig.axes if ax.images}
    assert len(limits) == 1  # one colour scale for every region
    check(fig, tmp_path / "clay.png", labels=["Topsoil clay (%)", "duero (EPSG:32632)"])


def test_quicklook_folder_draws_every_ssm_map(cogs, tmp_path):
    maps_dir = tmp_path / "maps" / "ssm_skjern"
    maps_dir.mkdir(parents=True)
    for day in ("20200410", "20200422"):
        shutil.copy(cogs["ssm"], maps_dir / f"ssm_skjern_{day}.tif")
    written = maps.quicklook_folder(maps_dir, tmp_path / "figures" / "ssm_skjern")
    assert [p.name for p in written] == ["ssm_skjern_20200410.png", "ssm_skjern_20200422.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProductError, match="empty: holds no map COG"):
        maps.quicklook_folder(tmp_path / "empty", tmp_path / "figures" / "none")
    assert not (tmp_path / "figures" / "none").exists()  # nothing half-written


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> xr.Dataset:
    """A stored sample dataset: 40 samples with 3 bare-soil observations of the S2 bands and S1 VV/VH (dB)."""
    ids = [f"SK{i:05d}" for i in range(40)]
    clay = np.linspace(5, 45, 40)
    data = {
        b: (("sample", "observation"), 0.1 + 0.002 * clay[:, None] + 0.01 * RNG.random((40, 3)))
        for b in tziolas.OPTICAL
    }
    data |= {p: (("sample", "observation"), -12 + RNG.standard_normal((40, 3))) for p in tziolas.RADAR}
    data["clay"] = (("sample",), clay)
    path = tmp_path_factory.mktemp("samples") / "samples.nc"
    xr.Dataset(data, coords={"sample": ids}).to_netcdf(path)
    return xr.open_dataset(path)


def test_clay_observed_against_predicted(tmp_path):
    observed = np.linspace(5, 45, 30)
    rows = [
        pd.DataFrame(
            {
                "model": model,
                "variant": variant,
                "sample": range(30),
                "observed": observed,
                "predicted": observed + noise * RNG.standard_normal(30),
            }
        )
        for model, variant, noise in (
            ("cnn", "full", 3),
            ("random_forest", "default", 4),
            ("ann", "default", 6),
            ("cnn", "no_radar", 5),
        )
    ]
    path = tmp_path / "predictions.csv"
    pd.concat(rows).to_csv(path, index=False)
    predictions = read_tables([path], tziolas.PREDICTIONS_COLUMNS)
    fig = tziolas.observed_vs_predicted_clay(predictions)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == [
        "CNN full",
        "Random forest",
        "ANN",
        "CNN no radar",
    ]
    box = fig.axes[0].texts[0].get_text()
    rmse = float(np.sqrt(np.mean((rows[0].predicted - observed) ** 2)))
    assert f"RMSE = {rmse:.2f} %" in box and "RPIQ = " in box and "R² = " in box
    check(fig, tmp_path / "f9.png", labels=["Observed clay (%)", "Predicted clay (%)"])


def test_clay_models_in_the_papers_arrangement(tmp_path):
    observed = np.linspace(5, 45, 30)
    variants = {
        "cnn": ["default", "without_coordinates", "without_SAR", "without_SAR_and_coordinates"],
        "rf": ["median", "median_without_coordinates", "per_date"],
        "ann": ["median", "median_without_coordinates", "per_date"],
    }
    rows = [
        pd.DataFrame(
            {
                "model": model,
                "variant": variant,
                "sample": range(30),
                "observed": observed,
                "predicted": observed + 4 * RNG.standard_normal(30),
            }
        )
        for model, names in variants.items()
        for variant in names
    ]
    fig = tziolas.observed_vs_predicted_clay(pd.concat(rows + [rows[0].assign(model="svr")]))
    cells = {
        ax.get_title().split("\n")[0]: (ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start)
        for ax in fig.axes
        if ax.get_visible()
    }
    # Fig 9: with coordinates (A-C) above without (D-F); then Figs A1-A2; an unknown model after them
    assert cells == {
        "ANN median": (0, 0),
        "RF median": (0, 1),
        "CNN": (0, 2),
        "ANN median without coordinates": (1, 0),
        "RF median without coordinates": (1, 1),
        "CNN without coordinates": (1, 2),
        "ANN per date": (2, 0),
        "RF per date": (2, 1),
        "CNN without SAR": (2, 2),
        "CNN without SAR and coordinates": (3, 2),
        "svr": (4, 0),
    }
    assert sum(ax.get_visible() for ax in fig.axes) == 11 and len(fig.axes) == 5 * 3
    check(fig, tmp_path / "f9_paper.png", labels=["(as the paper's Fig 9F)", "(as the paper's Fig A1)"])
    with pytest.raises(ProductError, match="no clay predictions to plot"):
        tziolas.observed_vs_predicted_clay(rows[0].iloc[:0])


def test_filter_boxplots_use_the_top_activating_samples(samples, tmp_path):
    ids = [str(s) for s in samples["sample"].values]
    # Filter f responds to clay for f < 4 and against it otherwise; 8 filters, the 6 most active are shown.
    activations = pd.DataFrame(
        [
            {"sample": s, "filter": f, "activation": (i if f < 4 else 40 - i) + f}
            for f in range(8)
            for i, s in enumerate(ids)
        ]
    )
    chosen = tziolas.top_activating(activations)
    assert list(chosen) == [7, 6, 5, 4, 3, 2]
    assert chosen[3] == ["SK00038", "SK00039"] and chosen[7] == ["SK00000", "SK00001"]
    fig = tziolas.filter_boxplots(activations, samples)
    clay_axes = fig.axes[2::3]
    assert len(clay_axes) == 6
    medians = [line.get_ydata()[0] for line in clay_axes[0].lines if same_color(line.get_color(), "C1")]
    assert medians == pytest.approx([samples["clay"].values[:2].mean(), np.median(samples["clay"].values)])
    check(fig, tmp_path / "f10.png", labels=["Filter 7\nReflectance (-)", "σ⁰ (dB)", "Clay (%)", "B8A"])
    with pytest.raises(ProductError, match="samples not in the sample dataset: ghost"):
        tziolas.filter_boxplots(pd.DataFrame({"sample": ["ghost"], "filter": [0], "activation": [1.0]}), samples)


def test_zhang_repeat_boxplots(tmp_path):
    rows = []
    for model, offset in (("cnn_lstm", 0.0), ("random_forest", 0.5)):
        for group in ("climate", "climate_terrain", "all"):
            for repeat in range(10):
                rows.append(
                    {
                        "model": model,
                        "variant": group,
                        "level": "repeat",
                        "group": str(repeat),
                        "rmse": 4 + offset + 0.1 * RNG.standard_normal(),
                        "r2": 0.6 - offset / 5,
                    }
                )
        rows.append({"model": model, "variant": "all", "level": "all", "group": "all", "rmse": 99.0, "r2": -5.0})
    path = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    fig = zhang.repeat_boxplots(read_tables([path], zhang.METRICS_COLUMNS))
    assert fig.axes[0].get_ylim()[1] < 10  # the overall rows (99) are not among the repeats
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["climate", "climate terrain", "all"]
    check(fig, tmp_path / "z8.png", labels=["RMSE (g/kg)", "R² (-)", "Covariate group", "CNN-LSTM", "Random forest"])


def test_fusion_figures_in_the_papers_arrangement(tmp_path):
    """Figs 4-7 of Tsagkatakis (2021) from stored results shaped like train_fusion's."""
    rows = []
    for patch, split in ((0, "training"), (1, "validation"), (2, "validation")):
        observed = np.clip(0.25 + 0.05 * RNG.standard_normal(6), 0.02, 0.5)
        for variant, noise in (("fusion_cnn", 0.02), ("spl2smap_s", 0.06)):
            predicted = observed + noise * RNG.standard_normal(6)
            rows += [
                {"patch": patch, "variant": variant, "split": split, "observed": o, "predicted": p}
                for o, p in zip(observed, predicted)
            ]
    path = tmp_path / "predictions.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    fig = tsagkatakis.scatter(read_tables([path], tsagkatakis.PREDICTIONS_COLUMNS))
    check(
        fig,
        tmp_path / "f45.png",
        labels=[
            "Training patches (1), 6 probe values",
            "Validation patches (2), 12 probe values",
            "SMAP/Sentinel-1 L2 1 km (SPL2SMAP_S) (ubRMSE",
            "Fusion CNN (ubRMSE",
            "Ideal",
            "In-situ soil moisture (m³/m³)",
        ],
    )
    # the paper's colours: the L2 product blue, the network orange, the ideal line green
    colours = [c.get_facecolor()[0][:3] for c in fig.axes[1].collections]
    assert same_color(colours[0], "tab:blue") and same_color(colours[1], "tab:orange")
    assert same_color(fig.axes[1].lines[0].get_color(), "tab:green")
    patches = pd.DataFrame(
        {
            "patch": [0, 1, 2],
            "time": pd.to_datetime(["2020-09-03", "2020-09-09", "2020-09-15"]),
            "split": ["training", "validation", "validation"],
            "n": [6, 6, 6],
            "fusion_cnn": [0.02, 0.03, 0.025],
            "spl2smap_s": [0.05, 0.06, 0.04],
        }
    )
    fig = tsagkatakis.patch_ubrmse(patches)
    texts = check(
        fig,
        tmp_path / "f6.png",
        labels=["of 2 validation patches", "Fusion CNN (mean 0.028)", "(SPL2SMAP_S) (mean 0.050)", "ubRMSE (m³/m³)"],
    )
    assert "03 Sep" not in texts  # the training patch is not among Fig 6's bars
    fine = np.clip(0.25 + 0.05 * RNG.standard_normal((16, 16)), 0, 0.5).astype(np.float32)
    probes = np.full((16, 16), np.nan, dtype=np.float32)
    probes[[3, 8, 12], [4, 9, 2]] = 0.3
    bands = {
        "sigma0_vv_db": -10 + RNG.standard_normal((16, 16)),
        "sigma0_vh_db": -17 + RNG.standard_normal((16, 16)),
        "tb_h": np.repeat(np.repeat([[250.0, 255.0], [260.0, 262.0]], 8, 0), 8, 1),
        "tb_v": np.repeat(np.repeat([[270.0, 272.0], [275.0, 280.0]], 8, 0), 8, 1),
        "ssm_fine": fine,
        "spl2smap_s_at_probes": probes,
        "ssm_fine_pooled": np.full((16, 16), float(fine.mean()), dtype=np.float32),
        "smap_l2_sm": np.full((16, 16), 0.27, dtype=np.float32),
    }
    example = xr.Dataset(
        {name: (("y", "x"), values) for name, values in bands.items()},
        attrs={"region": "armsgp", "date": "2020-09-09"},
    )
    check(
        tsagkatakis.example(example),
        tmp_path / "f7.png",
        attributed=False,  # stamped with the year of the scene instead
        labels=[
            f"{COPERNICUS_ATTRIBUTION} [2020]",
            "σ⁰ VV (dB)",
            "σ⁰ VH (dB)",
            "SMAP L1C Tb H (K)",
            "SMAP L1C Tb V (K)",
            "Fusion CNN, fine",
            "SPL2SMAP_S 1 km, probes",
            "Fusion CNN, 9 km means",
            "SPL2SMP_E 9 km",
            "Patch of armsgp on 2020-09-09",
        ],
    )
