"""The Tsagkatakis (2021) inputs, patches and protocol on the demo world's SMAP files in their genuine layouts:
every band and target traced to the granules, the spatial hold-out, training and the scores."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from conftest import schema_section
from soilsat.acquire.catalog import write_catalog
from soilsat.acquire.demo_archive import DemoProvider
from soilsat.demo import smap as demo_smap
from soilsat.demo.archive import INDEX_COLUMNS
from soilsat.demo.world import RegionSpec, WorldSpec, make_world
from soilsat.errors import ConfigError
from soilsat.grid import StudyGrid, coarsened
from soilsat.io import write_cog
from soilsat.models.tsagkatakis import patches as fusion_patches
from soilsat.models.tsagkatakis import protocol as fusion
from soilsat.models.tsagkatakis import scenes
from soilsat.nasa import ease2, smap_l1c, smap_l2, smap_l2sp

SOURCES = ("smap_l1c_tb", "smap_l2_sm", "smap_l2_sm_sp")


def patch_settings(**changes: object) -> fusion_patches.PatchSettings:
    """The schema's patch settings (train.tsagkatakis) with some changed."""
    base = fusion_patches.PatchSettings.from_config(schema_section("train.tsagkatakis"))
    return dataclasses.replace(base, **changes)


def fusion_settings(**changes: object) -> fusion.FusionSettings:
    """The schema's training settings (train.tsagkatakis) with some changed."""
    return dataclasses.replace(fusion.FusionSettings.from_config(schema_section("train.tsagkatakis")), **changes)


SMAP = scenes.SmapSettings.from_config(schema_section("smap"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 3 km region over 12 days: the demo SMAP files, their catalogs as the demo provider lists them, and probes
    reading the truth at eight pixels."""
    spec = WorldSpec(
        regions=(RegionSpec("okla", -97.49, 36.61, 3000, "subtropical"),),
        start=dt.date(2020, 9, 1),
        end=dt.date(2020, 9, 12),
        margin_m=500,
        s1_repeat_days=3,
        probes_per_region=8,
    )
    world = make_world(spec)
    root = tmp_path_factory.mktemp("smap")
    entries = demo_smap.write_products(
        world, spec, root, 1, ("SPL1CTB_E", "SPL2SMP_E", "SPL2SMAP_S"), sentinel1_days_only=True, sample_m=50
    )
    index = pd.DataFrame(entries)
    index["regions"] = index.pop("region")
    index.reindex(columns=INDEX_COLUMNS).to_csv(root / "index.csv", index=False)
    provider = DemoProvider(root)
    tables = {}
    for source in SOURCES:
        catalog = provider.search(source, ["okla"], spec.start, spec.end)
        write_catalog(catalog, root / f"{source}.csv")
        folder = root / "smap" / {v: k for k, v in demo_smap.SOURCES.items()}[source]
        tables[source] = scenes.granules(root / f"{source}.csv", folder)
    region = world[0]
    probes = region.probes
    days = pd.DatetimeIndex(region.truth["time"].values)
    ssm = np.stack([region.truth["sm"].values[:, r, c] for r, c in zip(probes["row"], probes["col"])])
    insitu = xr.Dataset(
        {"ssm": (("probe", "time"), ssm)},
        coords={
            "probe": probes["probe"].to_numpy(),
            "time": days,
            "region": ("probe", probes["region"].to_numpy()),
            "row": ("probe", probes["row"].to_numpy()),
            "col": ("probe", probes["col"].to_numpy()),
            "lat": ("probe", probes["lat"].to_numpy()),
            "lon": ("probe", probes["lon"].to_numpy()),
        },
    )
    return world, tables, insitu


def test_granule_times_are_the_sentinel1_acquisition_for_spl2smap_s(demo):
    _, tables, _ = demo
    ap = tables["smap_l2_sm_sp"]
    assert len(ap) and all(t == pd.Timestamp(name.split("_")[5]) for t, name in zip(ap["time"], ap["name"])), (
        "the first time of an SPL2SMAP_S name is the Sentinel-1 acquisition"
    )
    tb = tables["smap_l1c_tb"]
    assert (tb["time"] - tb["start"] == pd.Timedelta(minutes=24.5)).all()
    assert all(regions == ["okla"] for regions in tb["regions"])


def test_lookup_and_nearest():
    cells = (np.array([[5, 5], [6, 9]]), np.array([[10, 11], [10, 10]]))
    out = scenes.lookup(cells, np.array([5, 6]), np.array([10, 10]), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(out, [[1.0, np.nan], [2.0, np.nan]])
    table = pd.DataFrame({"time": pd.to_datetime(["2020-09-01T06:00", "2020-09-01T18:00"]), "path": ["a", "b"]})
    assert scenes.nearest(table, pd.Timestamp("2020-09-01T15:00"), 12)["path"] == "b"
    assert scenes.nearest(table, pd.Timestamp("2020-09-03T15:00"), 12) is None


def test_fine_grid_is_the_study_grid_in_whole_fine_pixels():
    study = StudyGrid(region="r", epsg=32614, x0=600_000, y0=4_060_000, width=405, height=400, resolution=10.0)
    region = scenes.fine_region(study, 100.0)
    assert region.shape == (40, 40) and region.factor == 10 and region.grid.x0 == study.x0
    assert region.grid == coarsened(study, 100.0)
    with pytest.raises(ConfigError, match="train.tsagkatakis.fine_resolution_m: 25 m is not a whole multiple"):
        scenes.fine_region(study, 25.0)


def test_scenes_and_patches_carry_the_granules_values(demo):
    world, tables, insitu = demo
    region = scenes.fine_region(world[0].grid, 1000.0)
    found = scenes.region_scenes(
        [region],
        "smap_l2_sm_sp",
        pd.DataFrame(),
        tables["smap_l1c_tb"],
        tables["smap_l2_sm"],
        tables["smap_l2_sm_sp"],
        SMAP,
    )
    assert found and all(s.sigma0_vv.shape == region.shape for s in found)
    scene = found[0]
    # sigma0 of each fine pixel is the SPL2SMAP_S 1 km cell its centre falls in, in dB
    granule = tables["smap_l2_sm_sp"].set_index("name").loc[scene.product]
    ap = smap_l2sp.read_sm(granule["path"], km=1, overpass="AM")
    r, c = region.m01[0][2, 2], region.m01[1][2, 2]
    linear = float(
        ap["sigma0_vv_aggregated"].sel(
            y=np.flatnonzero(ap["row"].values == r)[0], x=np.flatnonzero(ap["col"].values == c)[0]
        )
    )
    if not np.isfinite(linear):
        ap = smap_l2sp.read_sm(granule["path"], km=1, overpass="PM")
        linear = float(ap["sigma0_vv_aggregated"].values[ap["row"].values == r][:, ap["col"].values == c][0, 0])
    assert scene.sigma0_vv[2, 2] == pytest.approx(10 * np.log10(linear), abs=1e-4)
    # brightness temperatures: the L1C half-orbit nearest the Sentinel-1 time, the mean of its fore and aft looks
    tb_granule = scenes.nearest(tables["smap_l1c_tb"], scene.time, SMAP.pair_hours)
    tb = smap_l1c.read_tb(tb_granule["path"])
    cell = (tb["row"].values == region.m09[0][0, 0]) & (tb["col"].values == region.m09[1][0, 0])
    assert scene.tb_h[0, 0] == pytest.approx(float(smap_l1c.brightness_temperature(tb, "h").values[cell][0]))
    # the 9 km target: SPL2SMP_E of the same half-orbit
    l2 = smap_l2.read_sm(scenes.nearest(tables["smap_l2_sm"], tb_granule["time"], 1.0)["path"])
    cell = (l2["row"].values == region.m09[0][0, 0]) & (l2["col"].values == region.m09[1][0, 0])
    assert scene.smap_l2_sm[0, 0] == pytest.approx(float(l2["soil_moisture"].values[cell][0]))

    settings = patch_settings(fine_resolution_m=1000.0, min_probes=3)
    patches = fusion_patches.stack_patches(fusion_patches.region_patches(found, region, insitu, settings))
    assert patches.inputs.shape[1:] == (4, 4, 4)  # a 4 km grid: one whole patch of 4 x 4 fine pixels per scene
    entries = patches.entries
    assert (entries.groupby("patch")["location"].nunique() >= 3).all()
    first = entries.iloc[0]
    probe = insitu.sel(probe=first["probe"])
    assert first["row"] == int(probe["row"]) // 100 and first["location"] == f"okla:{first['row']}:{first['col']}"
    # the baseline is the 1 km retrieval of the probe's own M01 cell
    rows, cols = ease2.lonlat_to_rowcol(ease2.GRIDS["M01"], float(probe["lon"]), float(probe["lat"]))
    assert first["spl2smap_s"] == pytest.approx(float(scene.baseline(np.array([rows]), np.array([cols]))[0]))
    # cells: one label per 9 km cell within the patch, and the target constant over it
    for p in range(len(patches.index)):
        for label in np.unique(patches.cells[p][patches.cells[p] >= 0]):
            values = patches.target[p][patches.cells[p] == label]
            assert np.all(values == values[0]) or np.isnan(values).all()
    # the patches dataset keeps everything
    dataset = fusion_patches.patches_dataset(patches, 1000.0, "hash", {"smap_l1c_tb": ["a.h5"]})
    again = fusion_patches.read_patches(dataset)
    np.testing.assert_array_equal(again.inputs, patches.inputs)
    pd.testing.assert_frame_equal(again.entries, patches.entries, check_dtype=False)


@pytest.fixture(scope="module")
def patches(demo):
    world, tables, insitu = demo
    region = scenes.fine_region(world[0].grid, 1000.0)
    found = scenes.region_scenes(
        [region],
        "smap_l2_sm_sp",
        pd.DataFrame(),
        tables["smap_l1c_tb"],
        tables["smap_l2_sm"],
        tables["smap_l2_sm_sp"],
        SMAP,
    )
    settings = patch_settings(fine_resolution_m=1000.0, min_probes=3)
    return fusion_patches.stack_patches(fusion_patches.region_patches(found, region, insitu, settings))


def test_sigma0_from_soilsats_own_chain_is_the_linear_mean_of_each_fine_pixel(tmp_path):
    study = StudyGrid(region="r", epsg=32614, x0=600_000, y0=4_060_000, width=40, height=40, resolution=10.0)
    vv = np.linspace(0.01, 0.2, 1600).reshape(40, 40).astype(np.float32)
    vv[:10, :10] = np.nan  # a quarter of the first fine pixel without data
    path = tmp_path / "s1.tif"
    write_cog(path, np.stack([vv, vv / 5]), study, ["sigma0_VV", "sigma0_VH"])
    region = scenes.fine_region(study, 200.0)
    linear_vv, _ = scenes.raster_sigma0(str(path), region)
    assert linear_vv.shape == (2, 2)
    assert np.isfinite(linear_vv[0, 0])  # three quarters of it valid
    assert linear_vv[1, 1] == pytest.approx(float(vv[20:, 20:].mean()), rel=1e-5)
    write_cog(tmp_path / "odd.tif", vv[None], study, ["sigma0_VV"])
    with pytest.raises(Exception, match="odd.tif: Sentinel-1 raster lacks bands"):
        scenes.raster_sigma0(str(tmp_path / "odd.tif"), region)


def test_no_eligible_patch_is_a_clear_error(demo):
    world, tables, insitu = demo
    region = scenes.fine_region(world[0].grid, 1000.0)
    found = scenes.region_scenes(
        [region],
        "smap_l2_sm_sp",
        pd.DataFrame(),
        tables["smap_l1c_tb"],
        tables["smap_l2_sm"],
        tables["smap_l2_sm_sp"],
        SMAP,
    )
    with pytest.raises(ValueError, match="no eligible patches: no tile holds train.tsagkatakis.min_probes probe"):
        fusion_patches.stack_patches(fusion_patches.region_patches(found, region, insitu, patch_settings(min_probes=9)))


def test_validation_is_held_out_in_space_never_by_date(patches):
    settings = fusion_settings(validation_fraction=0.3)
    split = fusion.split(patches, settings, seed=3)
    held = split.entry_split(patches) == "validation"
    locations = patches.entries["location"]
    assert held.any() and (~held).any()
    assert not set(locations[held]) & set(locations[~held])  # a validation location is never a training one
    grid = split.training_grid(patches)
    for entry in patches.entries[held].itertuples():
        assert np.isnan(grid[entry.patch, entry.row, entry.col])
    again = fusion.split(patches, settings, seed=3)
    assert again.validation_locations == split.validation_locations
    # by patch place: one region of one tile has a single place, too few to hold one out
    with pytest.raises(ValueError, match="1 patch places: need at least 2 to train and validate"):
        fusion.split(patches, fusion_settings(holdout="patch"), seed=3)
    two = dataclasses.replace(patches, index=patches.index.assign(col=np.arange(len(patches.index)) % 2))
    by_patch = fusion.split(two, fusion_settings(holdout="patch", validation_fraction=0.5), seed=3)
    assert by_patch.validation_patches.any() and by_patch.training_patches.any()
    assert set(two.index["col"][by_patch.validation_patches]) == {
        int(two.index["col"][by_patch.validation_patches].iloc[0])
    }
    assert np.isnan(by_patch.training_grid(two)[by_patch.validation_patches]).all()


def test_training_is_reproducible_and_both_models_are_scored_on_the_same_probes(patches):
    settings = fusion_settings(epochs=60, filters=8, blocks=2)
    split = fusion.split(patches, settings, seed=7)
    train = split.training_patches
    inputs = fusion.standardised_inputs(patches, train)
    assert inputs.shape == (len(patches.index), 4, 4, 4) and torch.isfinite(inputs).all()
    runs = []
    for _ in range(2):
        model = fusion.train_fusion(
            inputs[train], split.training_grid(patches)[train], patches.target[train], patches.cells[train], settings, 7
        )
        runs.append(fusion.predict(model, inputs))
    np.testing.assert_array_equal(runs[0], runs[1])
    predictions = fusion.probe_predictions(patches, runs[0], split)
    assert set(predictions["variant"]) == {"fusion_cnn", "spl2smap_s"}
    network, product = (predictions[predictions["variant"] == v].reset_index(drop=True) for v in fusion.VARIANTS)
    pd.testing.assert_frame_equal(
        network[["patch", "probe", "split", "observed"]], product[["patch", "probe", "split", "observed"]]
    )
    training = network[network["split"] == "training"]
    constant = (training["observed"] - training["observed"].mean()).abs().mean()
    assert float((training["predicted"] - training["observed"]).abs().mean()) < constant  # it learnt something
    metrics = fusion.split_metrics(predictions)
    assert set(metrics["split"]) == {"training", "validation"}
    assert {"all", "region", "probe", "patch"} <= set(metrics["level"])
    per_patch = fusion.patch_scores(predictions)
    assert per_patch.columns.tolist() == ["patch", "region", "time", "split", "n", "fusion_cnn", "spl2smap_s"]
    example = fusion.example_dataset(patches, fusion.example_patch(patches, split), runs[0])
    pooled = example["ssm_fine_pooled"].values
    cells = patches.cells[fusion.example_patch(patches, split)]
    label = cells[0, 0]
    assert pooled[0, 0] == pytest.approx(float(example["ssm_fine"].values[cells == label].mean()), rel=1e-5)
