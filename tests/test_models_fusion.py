"""The Tsagkatakis (2021) fusion protocol: the demo's coarse product, patches, training and scoring."""

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (reads the CF grid mapping)
import torch
import xarray as xr

from soilsat.demo import radiometer
from soilsat.errors import ConfigError, ProductError
from soilsat.grid import StudyGrid
from soilsat.io import write_cog
from soilsat.models import fusion

DAYS = pd.date_range("2020-05-01", periods=4, freq="D")
# The coarse product as the plain block mean of the truth, without systematic error.
BLOCK_MEAN = dict(footprint_fwhm_px=0.0, bias=0.0, seasonal_error=0.0)


def truth(size: int = 12, resolution: float = 10.0) -> xr.Dataset:
    """A small truth dataset: soil moisture rising by column, one parcel of bare soil."""
    sm = np.broadcast_to(np.linspace(0.1, 0.4, size), (len(DAYS), size, size)).astype(np.float32)
    x = 500_000 + (np.arange(size) + 0.5) * resolution
    y = 6_200_000 - (np.arange(size) + 0.5) * resolution
    return xr.Dataset(
        {"sm": (("time", "y", "x"), sm), "parcel": (("y", "x"), np.zeros((size, size), dtype=int)),
         "parcel_fcover": (("time", "parcel_id"), np.zeros((len(DAYS), 1))),
         "tmean": (("time",), np.full(len(DAYS), 16.85))},
        coords={"time": DAYS, "y": y, "x": x, "parcel_id": [0]}, attrs={"crs": "EPSG:32632", "region": "r"},
    )


def test_topp_inversion_and_fresnel_limits():
    sm = np.array([0.05, 0.2, 0.35])
    eps = radiometer.topp_permittivity(sm)
    assert np.polynomial.polynomial.polyval(eps, radiometer.TOPP_COEFFICIENTS) == pytest.approx(sm, abs=1e-4)
    e_h, e_v = radiometer.fresnel_emissivity(np.array([1.0]), 40.0)
    assert e_h[0] == pytest.approx(1.0) and e_v[0] == pytest.approx(1.0)
    e_h, e_v = radiometer.fresnel_emissivity(eps, 40.0)
    assert np.all(np.diff(e_h) < 0) and np.all(e_v > e_h)  # wetter soil emits less; V above H off nadir


def test_brightness_temperatures_fall_with_soil_moisture_and_rise_under_vegetation():
    sm = np.array([0.05, 0.35])
    bare_h, bare_v = radiometer.brightness_temperatures(sm, 290.0, np.zeros(2))
    assert 150 < bare_h[1] < bare_h[0] < 290 and bare_v[0] > bare_h[0]
    # An L-band sensitivity of order 2-3 K per 0.01 m3/m3 over bare soil.
    assert 1.5 < (bare_h[0] - bare_h[1]) / 30 < 4.0
    covered_h, _ = radiometer.brightness_temperatures(sm, 290.0, np.ones(2))
    assert np.all(covered_h > bare_h) and (covered_h[0] - covered_h[1]) < (bare_h[0] - bare_h[1])


def test_coarse_product_is_the_block_mean_without_retrieval_error():
    product = radiometer.coarse_product(truth(), 40.0, retrieval_sd=0.0, radiometer_noise_k=0.0, seed=1, **BLOCK_MEAN)
    assert dict(product.sizes) == {"time": 4, "y": 3, "x": 3}
    expected = radiometer.block_mean(truth()["sm"].values[0].astype(float), 4)
    np.testing.assert_allclose(product["sm"].values[2], expected, rtol=1e-6)
    assert product["x"].values[0] == pytest.approx(500_020.0) and product["y"].values[0] == pytest.approx(6_199_980.0)
    assert product.rio.crs.to_epsg() == 32632 and product.attrs["resolution_m"] == 40.0  # CF grid mapping
    assert product["sm"].attrs["grid_mapping"] == "spatial_ref"
    assert product["tb_h"].attrs["units"] == "K" and np.all(np.diff(product["tb_h"].values[0], axis=1) < 0)
    noisy = radiometer.coarse_product(truth(), 40.0, retrieval_sd=0.04, radiometer_noise_k=1.3, seed=1, **BLOCK_MEAN)
    assert 0.005 < float(np.std(noisy["sm"].values - product["sm"].values)) < 0.08
    again = radiometer.coarse_product(truth(), 40.0, retrieval_sd=0.04, radiometer_noise_k=1.3, seed=1, **BLOCK_MEAN)
    np.testing.assert_array_equal(noisy["sm"].values, again["sm"].values)


def test_coarse_product_refuses_a_resolution_off_the_grid():
    with pytest.raises(ValueError, match="not a whole multiple of the 10 m study grid"):
        radiometer.coarse_product(truth(), 35.0, 0.0, 0.0, 1, **BLOCK_MEAN)


def write_radar(path, grid: StudyGrid, vv: np.ndarray, day: pd.Timestamp) -> None:
    """A Sentinel-1 raster of the study grid with the tags the workflow writes."""
    write_cog(path, np.stack([vv, vv / 5, np.full_like(vv, 35.0)]), grid, ["sigma0_VV", "sigma0_VH", "local_incidence_angle"],
              tags={"region": "r", "sensing_start": f"{day:%Y-%m-%d}T06:00:00", "product": path.stem})


def synthetic_region(tmp_path, size: int = 12):
    """Radar rasters, coarse product and probes of a 12 x 12 px region whose sigma0 follows soil moisture."""
    grid = StudyGrid(region="r", epsg=32632, x0=500_000, y0=6_200_000, width=size, height=size, resolution=10.0)
    world = truth(size)
    # Four probes in the patch's top-left 2 x 2 fine pixels, one outside every whole patch.
    rows, cols = np.array([1, 1, 3, 3, 11]), np.array([1, 3, 1, 3, 11])
    names = [f"p{i}" for i in range(len(rows))]
    ssm = np.stack([world["sm"].values[i][rows, cols] for i in range(len(DAYS))], axis=1)
    ssm[0, 1] = np.nan  # one probe misses a day
    probes = xr.Dataset({"ssm": (("probe", "time"), ssm)},
                        coords={"probe": names, "time": DAYS, "region": ("probe", ["r"] * len(rows)),
                                "row": ("probe", rows), "col": ("probe", cols)})
    paths = []
    for i, day in enumerate(DAYS):
        path = tmp_path / f"s1_{i}.tif"
        write_radar(path, grid, 0.02 + 0.3 * world["sm"].values[i], day)
        paths.append(str(path))
    radar = pd.DataFrame({"path": paths, "region": "r", "time": DAYS + pd.Timedelta(hours=6),
                          "product": [f"s1_{i}" for i in range(len(DAYS))]})
    product = radiometer.coarse_product(world, 40.0, 0.0, 0.0, 1, **BLOCK_MEAN)
    return radar, product, probes


def test_patches_hold_the_probes_at_their_fine_pixels(tmp_path):
    radar, product, probes = synthetic_region(tmp_path)
    settings = fusion.FusionSettings(fine_resolution_m=20.0, patch_size=4, min_probes=3)
    found = fusion.region_patches(radar, product, probes, "r", 10.0, settings)
    patches = fusion.stack_patches(found)
    # 6 x 6 fine px in patches of 4 (two coarse px): one whole patch per date; 4 probes fall in it.
    assert patches.fine.shape == (4, 2, 4, 4) and patches.coarse.shape == (4, 2, 2, 2) and patches.product.shape == (4, 2, 2)
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
    settings = fusion.FusionSettings(fine_resolution_m=20.0, patch_size=4, min_probes=5)
    with pytest.raises(ValueError, match="no eligible patches: no tile holds train.tsagkatakis.min_probes probes"):
        fusion.stack_patches(fusion.region_patches(radar, product, probes, "r", 10.0, settings))
    with pytest.raises(ConfigError, match="train.tsagkatakis.fine_resolution_m: 25 m is not a whole multiple of 10 m"):
        fusion.region_patches(radar, product, probes, "r", 10.0, fusion.FusionSettings(fine_resolution_m=25.0))


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
    settings = fusion.FusionSettings(fine_resolution_m=20.0, patch_size=4, min_probes=3, epochs=150, batch_size=2,
                                     learning_rate=3e-3, dropout=0.0, filters=8, blocks=2, alpha=0.5)
    patches = fusion.stack_patches(fusion.region_patches(radar, product, probes, "r", 10.0, settings))
    validation = np.array([False, False, False, True])
    inputs = fusion.standardised_inputs(patches, ~validation)
    assert inputs.shape == (4, 4, 4, 4) and torch.isfinite(inputs).all()
    runs = []
    for _ in range(2):
        model = fusion.train_fusion(inputs[~validation], patches.probe_grid()[~validation], patches.product[~validation],
                                    settings, seed=7)
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
    other = fusion.train_fusion(inputs[~validation], patches.probe_grid()[~validation], patches.product[~validation],
                                settings, seed=8)
    assert not np.array_equal(fusion.predict(other, inputs), runs[0])
    example = fusion.example_dataset(patches, fusion.example_patch(patches, validation), runs[0])
    assert example.attrs["date"] == "2020-05-04" and example["ssm_fine_pooled"].shape == (2, 2)
    assert example["ssm_fine_pooled"].values[0, 0] == pytest.approx(float(runs[0][3, :2, :2].mean()), rel=1e-5)
