"""End-to-end: the whole workflow on the tiny demo world, and what a user finds afterwards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from conftest import ROOT, run_workflow
from soilsat.cf_netcdf import open_dataset

pytestmark = pytest.mark.e2e


def test_outputs_exist_and_nothing_left_to_do(tiny_run):
    results = tiny_run / "results" / "tiny"
    for name in [
        "metrics.csv",
        "figures/simonsen/observed_vs_predicted.png",
        "figures/simonsen/probe_indices.png",
        "tables/mae_landcover.md",
        "datasets/probes.nc",
        "datasets/probes.parquet",
    ]:
        assert (results / name).stat().st_size > 0, name
    proc = run_workflow(tiny_run, "--dry-run", configfile=ROOT / "tests" / "configs" / "tiny.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_catalogs_and_rasters_per_product(tiny_run):
    results = tiny_run / "results" / "tiny"
    s1 = pd.read_csv(results / "catalog" / "sentinel1.csv")
    s2 = pd.read_csv(results / "catalog" / "sentinel2.csv")
    assert set(s1["regions"]) == {"skjern", "duero"}
    assert set(s2["product_type"]) == {"S2MSI2A"}
    for _, row in s1.iterrows():
        path = results / "sentinel1" / row["regions"] / f"{row['name']}.tif"
        with rasterio.open(path) as src:
            assert src.descriptions[:2] == ("sigma0_VV", "sigma0_VH")
            assert src.crs.to_epsg() == (32632 if row["regions"] == "skjern" else 32630)
            assert src.res == (10.0, 10.0)
            assert "Copernicus" in src.tags()["attribution"]
    assert len(list((results / "sentinel2").rglob("*.tif"))) == len(s2)


def test_probe_dataset_matches_truth(tiny_run):
    dataset = open_dataset(tiny_run / "results" / "tiny" / "datasets" / "probes.nc")
    truth_dir = tiny_run / "resources" / "demo" / "tiny" / "truth"
    probes = pd.read_csv(truth_dir / "probes.csv")
    assert dataset.sizes["time"] == 50
    assert dataset.sizes["probe"] >= 0.75 * len(probes)
    errors = []
    for region, group in probes.groupby("region"):
        truth = open_dataset(truth_dir / f"{region}.nc")
        for _, p in group.iterrows():
            if p["probe"] not in dataset["probe"].values:
                continue
            measured = dataset["ssm"].sel(probe=p["probe"]).values
            true = truth["sm"].values[:, p["row"], p["col"]]
            ok = np.isfinite(measured)
            errors.append(measured[ok] - true[ok])
    errors = np.concatenate(errors)
    assert np.median(np.abs(errors)) < 0.02, "daily probe SSM deviates from the truth beyond the sensor noise"


def test_metrics_table_reports_a_real_model(tiny_run):
    metrics = pd.read_csv(tiny_run / "results" / "tiny" / "metrics.csv")
    rows = metrics[(metrics["model"] == "random_forest") & (metrics["variant"] == "full") & (metrics["level"] == "all")]
    own = rows[rows["rows"] == "own"].iloc[0]
    common = rows[(rows["rows"] == "common") & (rows["scope"] == "all")].iloc[0]
    assert own["n"] > 20 and 0 < common["n"] <= own["n"]
    assert 0 < common["mae"] < 0.15
    assert {"all", "region", "landcover", "probe"} <= set(metrics["level"])
    dataset = open_dataset(tiny_run / "results" / "tiny" / "datasets" / "probes.nc")
    both = int((dataset["ssm"].notnull() & dataset["sigma0_vv"].notnull()).sum())
    assert own["n"] <= both, "the model saw more probe-days than the dataset holds"
    # every model and product of the comparison on the same probe-days, the products among them
    scored = metrics[(metrics["rows"] == "common") & (metrics["level"] == "all")]
    for scope, group in scored.groupby("scope"):
        assert group["n"].nunique() == 1, (scope, group[["model", "variant", "n"]])
    assert {"lstm", "random_forest", "csm", "ecv_sm", "climatology", "change_detection"} <= set(scored["model"])
    lstm = scored[(scored["model"] == "lstm") & (scored["scope"] == "all")]
    assert lstm["mae_repeat_sd"].notna().all() and (lstm["mae_repeat_mean"] > 0).all()


def test_probe_values_equal_rasters_at_probe_pixels(tiny_run):
    results = tiny_run / "results" / "tiny"
    dataset = open_dataset(results / "datasets" / "probes.nc")
    checked = {"sigma0_vv": 0, "ndvi": 0}
    for source, variable, band, tag in [
        ("sentinel1", "sigma0_vv", "sigma0_VV", "sensing_start"),
        ("sentinel2", "ndvi", "NDVI", "sensing_time"),
    ]:
        for path in sorted((results / source).rglob("*.tif")):
            with rasterio.open(path) as src:
                region = src.tags()["region"]
                day = pd.Timestamp(src.tags()[tag]).tz_localize(None).normalize()
                data = src.read(list(src.descriptions).index(band) + 1)
            for probe in dataset["probe"].values[dataset["region"].values == region]:
                at = dataset.sel(probe=probe)
                value = float(at[variable].sel(time=day))
                expected = float(data[int(at["row"]), int(at["col"])])
                if np.isfinite(value) and np.isfinite(expected):
                    assert value == pytest.approx(expected, rel=1e-6), (probe, path.name)
                    checked[variable] += 1
    assert checked["sigma0_vv"] >= 20 and checked["ndvi"] >= 10, checked
    assert "observed" in dataset and set(dataset["feature"].values) >= {"ssm", "sigma0_vv", "ndvi"}
    assert bool((dataset["observed"].sel(feature="ssm") == dataset["ssm"].notnull()).all())


def test_sample_and_window_datasets(tiny_run):
    results = tiny_run / "results" / "tiny"
    samples = open_dataset(results / "datasets" / "samples.nc")
    truth = pd.read_csv(tiny_run / "resources" / "demo" / "tiny" / "truth" / "samples.csv").set_index("point_id")
    assert samples.sizes["sample"] >= 20
    assert np.allclose(samples["clay"].values, truth.loc[samples["sample"].values, "clay"].values, atol=0.11)
    bare_b11 = samples["B11"].values[np.isfinite(samples["B11"].values)]
    assert ((bare_b11 > 0) & (bare_b11 < 1)).all()
    windows = open_dataset(results / "datasets" / "windows.nc")
    assert windows["windows"].shape[1:] == (10, 5, 5)
    assert set(windows["phenology"]["metric"].values) >= {"greenup", "peak", "dormancy", "amplitude"}


def test_inspect_demo_products(tiny_run):
    import json
    import subprocess
    import sys

    resources = tiny_run / "resources" / "demo" / "tiny"
    s1 = sorted((resources / "sentinel1").glob("*.zip"))[0]
    s2 = sorted((resources / "sentinel2").glob("*.zip"))[0]
    ismn = sorted((resources / "ismn").glob("*.zip"))[0]
    summaries = {}
    for path in (s1, s2, ismn):
        proc = subprocess.run(
            [sys.executable, "-m", "soilsat.cli", "inspect", str(path)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        summaries[path] = json.loads(proc.stdout)
    assert summaries[s1]["kind"] == "sentinel1" and summaries[s1]["mode"] == "IW"
    assert sorted(summaries[s1]["polarisations"]) == ["VH", "VV"]
    assert summaries[s1]["sensing_start"][:10] == f"{s1.name[17:21]}-{s1.name[21:23]}-{s1.name[23:25]}"
    assert summaries[s2]["kind"] == "sentinel2" and summaries[s2]["level"] in ("L2A", "Level-2A")
    assert summaries[ismn]["kind"] == "ismn" and len(summaries[ismn]["networks"]) == 2


def test_point_study_models_and_their_figures(tiny_run):
    results = tiny_run / "results" / "tiny"
    for name in [
        "figures/tziolas/observed_vs_predicted.png",
        "figures/tziolas/filters.png",
        "figures/zhang/repeats.png",
        "models/tziolas_cnn/activations.csv",
        "models/tziolas_rf/grid_search.csv",
    ]:
        assert (results / name).stat().st_size > 0, name
    samples = open_dataset(results / "datasets" / "samples.nc")
    tables = {"median", "median_without_coordinates", "per_date"}
    for model, variants in [
        ("cnn", {"default", "without_coordinates", "without_SAR", "without_SAR_and_coordinates"}),
        ("rf", tables),
        ("ann", tables),
    ]:
        metrics = pd.read_csv(results / "models" / f"tziolas_{model}" / "metrics.csv")
        overall = metrics[metrics["level"] == "all"]
        assert set(overall["variant"]) == variants, model
        assert np.isfinite(overall[["r2", "rmse", "rpiq"]]).all().all(), model
        n = samples.sizes["sample"]
        assert (overall["n"] == n - round(0.8 * n)).all(), "the Kennard-Stone test set is the other 20 %"
        assert (overall["rmse"] < 15).all(), f"{model}: clay RMSE beyond the spread of the demo's clay"
    search = pd.read_csv(results / "models" / "tziolas_rf" / "grid_search.csv")
    assert search.groupby("variant")["best"].sum().eq(1).all()
    activations = pd.read_csv(results / "models" / "tziolas_cnn" / "activations.csv")
    assert activations["filter"].nunique() == 16 and (activations["activation"] >= 0).all()
    windows = open_dataset(results / "datasets" / "windows.nc")
    for model in ("cnn_lstm", "rf"):
        metrics = pd.read_csv(results / "models" / f"zhang_{model}" / "metrics.csv")
        repeats = metrics[metrics["level"] == "repeat"]
        assert repeats.groupby("variant").size().to_dict() == dict.fromkeys(
            ["static", "static_EVI", "static_phenology", "static_phenology_EVI"], 2
        ), model
        assert np.isfinite(repeats[["rmse", "r2"]]).all().all()
        assert (repeats["rmse"] < 2 * float(np.nanstd(windows["oc"].values))).all(), f"{model}: RMSE beyond 2 sd of SOC"


def test_fusion_cnn_trains_on_the_tiny_world_and_is_scored_against_the_coarse_product(tiny_run):
    results = tiny_run / "results" / "tiny"
    for name in ("scatter", "ubrmse", "example"):
        assert (results / "figures" / "tsagkatakis" / f"{name}.png").stat().st_size > 0, name
    product = open_dataset(tiny_run / "resources" / "demo" / "tiny" / "coarse" / "skjern.nc")
    assert product.attrs["resolution_m"] == 600 and dict(product.sizes)["y"] == 3  # 2 km of 10 m px
    assert product["time"].size == 50 and product["sm"].attrs["units"] == "m3 m-3"
    predictions = pd.read_csv(results / "models" / "tsagkatakis_fusion" / "predictions.csv")
    assert set(predictions["split"]) == {"training", "validation"}
    assert set(predictions["variant"]) == {"fusion_cnn", "coarse_product"}
    assert predictions["predicted"].between(-0.2, 0.8).all()
    metrics = pd.read_csv(results / "models" / "tsagkatakis_fusion" / "metrics.csv")
    overall = metrics[(metrics["level"] == "all")].set_index(["split", "variant"])
    assert np.isfinite(overall["ubrmse"]).all() and (overall["ubrmse"] < 0.2).all()
    patches = pd.read_csv(results / "models" / "tsagkatakis_fusion" / "patches.csv")
    assert (patches["n"] >= 3).all()  # tiny.yaml: train.tsagkatakis.min_probes 3
    example = open_dataset(results / "models" / "tsagkatakis_fusion" / "example.nc")
    assert example["ssm_fine"].shape == (18, 18) and example["tb_h"].shape == (3, 3)
