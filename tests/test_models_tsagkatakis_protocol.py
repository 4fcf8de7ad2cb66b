"""The Tsagkatakis (2021) fusion protocol: patches of fine sigma0 and the coarse product, training and scoring."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import schema_section
from soilsat.demo import radiometer
from soilsat.errors import ConfigError, ProductError
from soilsat.grid import StudyGrid
from soilsat.io import write_cog
from soilsat.models.tsagkatakis import protocol as fusion
from synthetic import synthetic_region, truth


def fusion_settings(**changes: object) -> fusion.FusionSettings:
    """The schema's fusion settings (train.tsagkatakis) with some changed."""
    return dataclasses.replace(fusion.FusionSettings.from_config(schema_section("train.tsagkatakis")), **changes)


def test_patches_hold_the_probes_at_their_fine_pixels(tmp_path):
    radar, product, probes = synthetic_region(tmp_path)
    settings = fusion_settings(fine_resolution_m=20.0, patch_size=4, min_probes=3)
    found = fusion.region_patches(radar, product, probes, "r", 10.0, settings)
    patches = fusion.stack_patches(found)
    # 6 x 6 fine px in patches of 4 (two coarse px): one whole patch per date; 4 probes fall in it.
    assert patches.fine.shape == (4, 2, 4, 4) and patches.coarse.shape == (4, 2, 2, 2)
    assert patches.product.shape == (4, 2, 2)
    assert patches.probes.groupby("patch").size().tolist() == [4, 3, 4, 4]  # the missing day leaves 3
    first = patches.probes[patches.probes["patch"] == 2].sort_values("probe")
    assert first[["row", "col"]].values.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    # Linear means over 2 x 2 blocks, in dB.
    expected = 10 * np.log10(0.02 + 0.3 * radiometer.block_mean(truth()["sm"].values[2].astype(float), 2)[:4, :4])
    np.testing.assert_allclose(patches.fine[2, 0], expected, atol=1e-4)
    grid = patches.probe_grid()
    assert np.isfinite(grid).sum() == 15 and grid[2, 1, 1] == pytest.approx(first["observed"].iloc[3])


def test_no_eligible_patch_is_a_clear_error(tmp_path):
    radar, product, probes = synthetic_region(tmp_path)
    settings = fusion_settings(fine_resolution_m=20.0, patch_size=4, min_probes=5)
    with pytest.raises(ValueError, match="no eligible patches: no tile holds train.tsagkatakis.min_probes probes"):
        fusion.stack_patches(fusion.region_patches(radar, product, probes, "r", 10.0, settings))
    with pytest.raises(ConfigError, match="train.tsagkatakis.fine_resolution_m: 25 m is not a whole multiple of 10 m"):
        fusion.region_patches(radar, product, probes, "r", 10.0, fusion_settings(fine_resolution_m=25.0))


def test_a_raster_without_sigma0_bands_names_the_file(tmp_path):
    grid = StudyGrid(region="r", epsg=32632, x0=0, y0=0, width=4, height=4)
    path = tmp_path / "odd.tif"
    write_cog(path, np.ones((1, 4, 4)), grid, ["sigma0_VV"])
    with pytest.raises(ProductError, match="odd.tif: Sentinel-1 raster lacks bands sigma0_VH"):
        fusion.fine_sigma0(str(path), 2, (2, 2))


def test_split_is_seeded_disjoint_and_never_empty():
    split = fusion.split_patches(10, 0.2, seed=3)
    assert split.sum() == 2 and (~split).sum() == 8
    np.testing.assert_array_equal(split, fusion.split_patches(10, 0.2, seed=3))
    assert fusion.split_patches(2, 0.01, seed=0).sum() == 1 and fusion.split_patches(2, 0.99, seed=0).sum() == 1
    with pytest.raises(ValueError, match="1 eligible patch"):
        fusion.split_patches(1, 0.2, seed=0)


def test_training_learns_soil_moisture_from_sigma0_and_is_reproducible(tmp_path):
    radar, product, probes = synthetic_region(tmp_path)
    settings = fusion_settings(
        fine_resolution_m=20.0,
        patch_size=4,
        min_probes=3,
        epochs=150,
        batch_size=2,
        learning_rate=3e-3,
        dropout=0.0,
        filters=8,
        blocks=2,
        alpha=0.5,
    )
    patches = fusion.stack_patches(fusion.region_patches(radar, product, probes, "r", 10.0, settings))
    validation = np.array([False, False, False, True])
    inputs = fusion.standardised_inputs(patches, ~validation)
    assert inputs.shape == (4, 4, 4, 4) and torch.isfinite(inputs).all()
    runs = []
    for _ in range(2):
        model = fusion.train_fusion(
            inputs[~validation], patches.probe_grid()[~validation], patches.product[~validation], settings, seed=7
        )
        runs.append(fusion.predict(model, inputs))
    np.testing.assert_array_equal(runs[0], runs[1])
    predictions = fusion.probe_predictions(patches, runs[0], validation)
    assert set(predictions["variant"]) == {"fusion_cnn", "coarse_product"}
    assert (predictions["split"] == "validation").sum() == 2 * 4
    network = predictions[(predictions["variant"] == "fusion_cnn") & (predictions["split"] == "training")]
    assert float((network["predicted"] - network["observed"]).abs().mean()) < 0.03
    # The coarse product's value at each probe is the mean of its 2 x 2 fine block.
    coarse = predictions[predictions["variant"] == "coarse_product"].set_index(["patch", "probe"])["predicted"]
    assert coarse.loc[(2, "p0")] == pytest.approx(float(patches.product[2, 0, 0]))
    metrics = fusion.split_metrics(predictions)
    assert set(metrics["split"]) == {"training", "validation"}
    assert set(metrics["level"]) == {"all", "region", "probe"}
    per_patch = fusion.patch_scores(predictions)
    assert per_patch.columns.tolist() == ["patch", "region", "time", "split", "n", "coarse_product", "fusion_cnn"]
    assert per_patch["n"].tolist() == [4, 3, 4, 4]
    other = fusion.train_fusion(
        inputs[~validation], patches.probe_grid()[~validation], patches.product[~validation], settings, seed=8
    )
    assert not np.array_equal(fusion.predict(other, inputs), runs[0])
    example = fusion.example_dataset(patches, fusion.example_patch(patches, validation), runs[0])
    assert example.attrs["date"] == "2020-05-04" and example["ssm_fine_pooled"].shape == (2, 2)
    assert example["ssm_fine_pooled"].values[0, 0] == pytest.approx(float(runs[0][3, :2, :2].mean()), rel=1e-5)
