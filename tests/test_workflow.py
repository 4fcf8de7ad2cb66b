"""End-to-end: the whole workflow on the tiny demo world, and what a user finds afterwards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from conftest import ROOT, run_workflow
from soilsat.cf_netcdf import open_dataset
from soilsat.extract.covariates import METRICS, STATIC, grid_of

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
    # Zhang's Table 1: 5 x 5 windows of the 10 climate and terrain covariates on the 90 m covariate grid, and per
    # year the 11 phenology variables and the mean EVI (tiny.yaml: from Sentinel-2, over one year)
    windows = open_dataset(results / "datasets" / "windows.nc")
    assert windows["windows"].shape[1:] == (10, 5, 5)
    assert list(windows["covariate"].values) == list(STATIC)
    assert list(windows["phenology"]["metric"].values) == list(METRICS) and windows.sizes["year"] == 1
    for region in ("skjern", "duero"):
        assert grid_of(open_dataset(results / "covariates" / f"{region}.nc")).resolution == 90.0
    assert "sentinel2_products" in open_dataset(results / "covariates" / "skjern.nc").attrs


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
    # the SMAP granules the fusion study fetched, described by the readers of real files
    nasa = {}
    for source in ("smap_l1c_tb", "smap_l2_sm_sp"):
        path = sorted((resources / source).glob("*.h5"))[0]
        proc = subprocess.run(
            [sys.executable, "-m", "soilsat.cli", "inspect", str(path)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        nasa[source] = json.loads(proc.stdout)
    l1c, l2sp = nasa["smap_l1c_tb"], nasa["smap_l2_sm_sp"]
    assert (l1c["kind"], l1c["product"], l1c["grid"]["name"]) == (
        "smap_l1c_tb",
        "SPL1CTB_E",
        "EASE-Grid 2.0 global M09",
    )
    assert l1c["overpass"] in ("AM", "PM") and l1c["grid"]["cells"] > 0
    assert (l2sp["kind"], l2sp["product"], set(l2sp["grid"])) == ("smap_l2_sm_sp", "SPL2SMAP_S", {"1km", "3km"})


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


def test_fusion_cnn_trains_on_the_tiny_world_and_is_scored_with_the_l2_product(tiny_run):
    """tiny.yaml takes the fine sigma0 from soilsat's own Sentinel-1 chain (sigma0_source sentinel1), the
    brightness temperatures and the 9 km target from the demo's SPL1CTB_E and SPL2SMP_E files."""
    results = tiny_run / "results" / "tiny"
    for name in ("scatter", "ubrmse", "example"):
        assert (results / "figures" / "tsagkatakis" / f"{name}.png").stat().st_size > 0, name
    patches_dataset = open_dataset(results / "datasets" / "patches.nc")
    assert patches_dataset.attrs["fine_resolution_m"] == 100.0
    for source in ("sentinel1", "smap_l1c_tb", "smap_l2_sm", "smap_l2_sm_sp"):
        assert patches_dataset.attrs[f"{source}_products"], source
    assert patches_dataset.sizes["patch"] >= 1 and patches_dataset["tb_h"].shape[1:] == (20, 20)
    predictions = pd.read_csv(results / "models" / "tsagkatakis_fusion" / "predictions.csv")
    assert set(predictions["split"]) == {"training", "validation"}
    assert set(predictions["variant"]) == {"fusion_cnn", "spl2smap_s"}
    # the network and the SMAP/Sentinel-1 L2 1 km product are scored on the same in-situ values
    keys = ["patch", "probe", "split", "observed"]
    network, product = (predictions[predictions["variant"] == v][keys] for v in ("fusion_cnn", "spl2smap_s"))
    assert len(network) and network.reset_index(drop=True).equals(product.reset_index(drop=True))
    log = (tiny_run / "logs" / "tiny" / "train" / "tsagkatakis_fusion.log").read_text()
    assert "51617 trainable parameters" in log and "validation held out by location" in log
    assert predictions["predicted"].between(-0.2, 0.8).all()
    # validation is held out by location: no location validates and trains
    split = predictions.groupby("location")["split"].nunique()
    assert (split == 1).all()
    metrics = pd.read_csv(results / "models" / "tsagkatakis_fusion" / "metrics.csv")
    overall = metrics[(metrics["level"] == "all")].set_index(["split", "variant"])
    assert np.isfinite(overall["ubrmse"]).all() and (overall["ubrmse"] < 0.2).all()
    patches = pd.read_csv(results / "models" / "tsagkatakis_fusion" / "patches.csv")
    assert (patches.groupby("patch")["n"].sum() >= 1).all()
    example = open_dataset(results / "models" / "tsagkatakis_fusion" / "example.nc")
    assert example["ssm_fine"].shape == (20, 20) and example["tb_h"].shape == (20, 20)


def validation_targets() -> list[str]:
    """The validation section of every study of the tiny run (what final_outputs asks for)."""
    results = "results/tiny"
    targets = [f"{results}/qa4sm/{m}.nc" for m in ("simonsen2021", "tsagkatakis2021")]
    for method in ("simonsen2021", "tziolas2020", "zhang2022", "tsagkatakis2021"):
        targets += [
            f"{results}/validation/{method}/coverage.csv",
            f"{results}/figures/validation/{method}/coverage.png",
        ]
    for method in ("simonsen2021", "tsagkatakis2021"):
        targets += [
            f"{results}/figures/validation/{method}/{name}.png"
            for name in ("strata_raw", "strata_anomaly", "triple_collocation")
        ]
    for method in ("tziolas2020", "zhang2022"):
        targets.append(f"{results}/figures/validation/{method}/strata_errors.png")
    for method in ("simonsen2021", "tziolas2020", "zhang2022"):
        targets.append(f"{results}/figures/validation/{method}/protocols.png")
    for region in ("skjern", "duero"):
        targets += [f"{results}/figures/validation/aoa_{q}_{region}.png" for q in ("clay", "soc")]
        targets.append(f"{results}/figures/validation/aoa_ssm_{region}")
    return targets


def test_validation_section_of_every_study(tiny_run):
    # --configfile last: it takes every argument after it
    run_workflow(tiny_run, *validation_targets(), "--configfile", str(ROOT / "tests" / "configs" / "tiny.yaml"))
    results = tiny_run / "results" / "tiny"
    stations = pd.read_csv(results / "validation" / "simonsen2021" / "stations.csv")
    assert {"raw", "anomaly"} == set(stations["kind"]) and {"all", "agriculture"} == set(stations["scope"])
    pooled = stations[stations["probe"] == "all stations"]
    assert {"lstm_minimum", "random_forest_full", "csm", "ecv_sm"} <= set(pooled["name"])
    scored = stations.dropna(subset=["r", "ubrmsd_lower"])
    assert len(scored) > 20 and (scored["r_lower"] <= scored["r"]).all() and (scored["r"] <= scored["r_upper"]).all()
    assert (scored["ubrmsd_lower"] <= scored["ubrmsd_upper"]).all() and scored["rho_p"].between(0, 1).all()
    assert {"region", "network", "landcover", "texture", "climate"} <= set(stations.columns)
    strata = pd.read_csv(results / "validation" / "simonsen2021" / "strata.csv")
    assert set(strata["stratified_by"]) == {"region", "network", "landcover", "texture", "climate"}
    collocation = pd.read_csv(results / "validation" / "simonsen2021" / "triple_collocation.csv")
    assert {"in situ", "csm", "ecv_sm"} <= set(collocation["estimate"])
    for method in ("simonsen2021", "tziolas2020", "zhang2022", "tsagkatakis2021"):
        coverage = pd.read_csv(results / "validation" / method / "coverage.csv")
        assert set(coverage["level"]) == {0.5, 0.8, 0.9, 0.95} and coverage["coverage"].between(0, 1).all(), method
    forest = pd.read_csv(results / "validation" / "simonsen2021" / "coverage.csv")
    assert "map random forest" in set(forest["model"])
    protocols = pd.read_csv(results / "validation" / "tziolas2020" / "protocols.csv")
    assert len(protocols) == 3 and protocols["protocol"].iloc[0].startswith("paper: Kennard-Stone")
    scores = pd.read_csv(results / "validation" / "zhang2022" / "scores.csv")
    assert {"all samples", "region", "texture"} == set(scores["stratified_by"])


def test_every_map_carries_interval_and_aoa_bands(tiny_run):
    results = tiny_run / "results" / "tiny"
    maps = sorted((results / "maps").glob("*.tif")) + sorted((results / "maps").glob("ssm_*/*.tif"))
    assert len(maps) >= 6
    for path in maps:
        with rasterio.open(path) as src:
            quantity = src.descriptions[0]
            assert src.descriptions == (
                quantity,
                f"{quantity}_lower",
                f"{quantity}_upper",
                "dissimilarity_index",
                "area_of_applicability",
            ), path.name
            for band in range(1, 6):
                assert src.tags(band)["units"] and src.tags(band)["long_name"], (path.name, band)
            value, lower, upper, aoa = (src.read(b) for b in (1, 2, 3, 5))
        mapped = np.isfinite(value)
        assert mapped.any() and (lower[mapped] <= value[mapped]).all() and (value[mapped] <= upper[mapped]).all()
        assert set(np.unique(aoa[mapped])) <= {0.0, 1.0}


def test_the_qa4sm_export_reads_back_as_the_predictions(tiny_run):
    from soilsat.evaluate.qa4sm import read_qa4sm

    results = tiny_run / "results" / "tiny"
    back = read_qa4sm(results / "qa4sm" / "simonsen2021.nc")
    lstm = pd.read_csv(results / "models" / "lstm_minimum" / "predictions.csv")
    lstm = lstm[lstm["repeat"] == "mean"].assign(time=lambda t: pd.to_datetime(t["time"]))
    read = back[back["variable"] == "ssm_lstm_minimum"].merge(lstm, on=["probe", "time"], suffixes=("_read", ""))
    assert len(read) == len(lstm) and np.allclose(read["predicted_read"], read["predicted"], rtol=1e-6)


def test_every_sentinel_cog_has_a_valid_stac_item_linked_by_the_study_collection(tiny_run):
    import json

    from soilsat.stac import validation

    results = tiny_run / "results" / "tiny"
    cogs = sorted((results / "sentinel1").rglob("*.tif")) + sorted((results / "sentinel2").rglob("*.tif"))
    assert len(cogs) >= 4
    for cog in cogs:
        validation.validate(json.loads(cog.with_suffix(".json").read_text()), str(cog))
    study = results / "stac" / "collection.json"
    root = json.loads(study.read_text())
    validation.validate(root)
    linked = set()
    for link in (link for link in root["links"] if link["rel"] == "child"):
        path = (study.parent / link["href"]).resolve()
        child = json.loads(path.read_text())
        validation.validate(child)
        linked |= {(path.parent / item["href"]).resolve() for item in child["links"] if item["rel"] == "item"}
    assert linked == {cog.with_suffix(".json").resolve() for cog in cogs}
