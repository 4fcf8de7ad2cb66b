"""COGs written block by block: overview levels built as the rows pass, laid out and compressed by GDAL."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from soilsat.cog_stream import cog_writer
from soilsat.grid import StudyGrid
from soilsat.io import write_cog
from soilsat.pyramid import Pyramid, halve, level_shapes


def test_levels_stop_when_one_fits_in_a_tile():
    assert level_shapes(4000, 4000, 256) == [(2000, 2000), (1000, 1000), (500, 500), (250, 250)]
    assert level_shapes(600, 257, 256) == [(300, 129), (150, 65)]
    assert level_shapes(256, 100, 256) == []


def test_halving_averages_valid_pixels_and_keeps_categories():
    rows = np.array([[[1, 3, 5], [5, np.nan, 7], [2, 4, 6]], [[1, 2, 3], [3, 1, 2], [2, 3, 1]]], np.float32)
    rows[0, 2, 2] = np.nan
    half = halve(rows, [False, True])
    assert half.shape == (2, 2, 2)
    np.testing.assert_allclose(half[0], [[3.0, 6.0], [3.0, np.nan]])  # (1+3+5)/3, (5+7)/2, (2+4)/2, odd corner alone
    np.testing.assert_array_equal(half[1], [[1, 3], [2, 1]])  # the top-left pixel of each 2 x 2
    assert np.isnan(halve(np.full((1, 2, 2), np.nan, np.float32), [False]))[0, 0, 0]


@pytest.mark.parametrize("block", [7, 64, 100])
def test_pyramid_of_blocks_equals_the_pyramid_of_the_whole(block):
    rng = np.random.default_rng(0)
    raster = rng.normal(size=(2, 301, 517)).astype(np.float32)
    raster[0, 40:90, 100:300] = np.nan
    expected, level = [], raster
    for _ in level_shapes(301, 517, 32):
        level = halve(level, [False, True])
        expected.append(level)
    got = [np.full(e.shape, -1.0, np.float32) for e in expected]
    pyramid = Pyramid(301, 517, [False, True], tile=32)
    for r0 in range(0, 301, block):
        for lv, first, rows in pyramid.add(raster[:, r0 : r0 + block]):
            got[lv - 1][:, first : first + rows.shape[1]] = rows
    for lv, first, rows in pyramid.finish():
        got[lv - 1][:, first : first + rows.shape[1]] = rows
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g, e)


def test_block_written_cog_is_a_cog_with_gdal_average_overviews(tmp_path):
    grid = StudyGrid("t", 32633, 400000.0, 6100000.0, 700, 600, 10.0)
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:600, 0:700]
    smooth = (0.05 + 0.01 * np.sin(xx / 17.0) * np.cos(yy / 23.0)).astype(np.float32)
    noisy = (smooth * rng.gamma(4.4, 1 / 4.4, smooth.shape)).astype(np.float32)
    mask = ((xx // 50 + yy // 70) % 4).astype(np.float32)
    stack = np.stack([noisy, smooth, mask])
    stack[:2, :, :80] = np.nan  # no data on the left, as outside a swath
    out = tmp_path / "out.tif"
    with cog_writer(
        out,
        grid,
        ["sigma0_VV", "angle", "mask"],
        [{"units": "1"}, {"units": "degree"}, {}],
        threads=2,
        categorical=[False, False, True],
    ) as dst:
        for r0 in range(0, 600, 128):
            dst.write(r0, stack[:, r0 : r0 + 128])
        dst.update_tags(product="P", attribution="Contains modified Copernicus Sentinel data")
    assert not list(tmp_path.glob(".out.tif.*")), "the staging folder is gone"
    with rasterio.open(out) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.compression.name == "deflate" and src.block_shapes[0] == (256, 256)
        assert src.descriptions == ("sigma0_VV", "angle", "mask")
        assert src.tags()["product"] == "P" and src.tags(2)["units"] == "degree"
        assert src.transform == grid.transform and src.crs.to_epsg() == 32633 and np.isnan(src.nodata)
        np.testing.assert_array_equal(src.read(), stack)
        assert src.overviews(1) == [2, 4]
        ours = src.read(out_shape=(3, 300, 350))
    # GDAL's own AVERAGE overviews of the same raster (write_cog lets the COG driver build them)
    reference = tmp_path / "gdal.tif"
    write_cog(reference, stack, grid, ["sigma0_VV", "angle", "mask"])
    with rasterio.open(reference) as src:
        assert src.overviews(1) == [2, 4]
        gdal = src.read(out_shape=(3, 300, 350))
    np.testing.assert_allclose(ours[:2], gdal[:2], rtol=1e-6)
    np.testing.assert_array_equal(ours[2], stack[2, ::2, ::2])  # the mask keeps its codes
    assert set(np.unique(ours[2])) <= {0.0, 1.0, 2.0, 3.0}


def test_rows_out_of_order_and_failures_leave_no_output(tmp_path):
    grid = StudyGrid("t", 32633, 400000.0, 6100000.0, 300, 300, 10.0)
    out = tmp_path / "out.tif"
    with pytest.raises(ValueError, match="rows must be written in order: row 100 given, row 0 expected"):
        with cog_writer(out, grid, ["a"]) as dst:
            dst.write(100, np.zeros((1, 100, 300), np.float32))
    with pytest.raises(RuntimeError, match="boom"):
        with cog_writer(out, grid, ["a"]) as dst:
            dst.write(0, np.zeros((1, 100, 300), np.float32))
            raise RuntimeError("boom")
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("blocks", [[384, 128, 384, 128, 1], [7] * 147 + [6], [1025]])
def test_rows_in_any_blocks_give_the_same_cog(tmp_path, blocks):
    """Blocks that end inside a staging tile (Terrain-Flattening's lagging blocks) are held back until their tile
    row is whole: the COG is the same as from aligned blocks."""
    grid = StudyGrid("t", 32633, 400000.0, 6100000.0, 300, sum(blocks), 10.0)
    stack = np.random.default_rng(2).normal(size=(2, grid.height, grid.width)).astype(np.float32)
    out = tmp_path / "out.tif"
    with cog_writer(out, grid, ["a", "b"]) as dst:
        r0 = 0
        for size in blocks:
            dst.write(r0, stack[:, r0 : r0 + size])
            r0 += size
            held = dst.pending[0]
            assert (0 if held is None else held.shape[1]) == (r0 % 256 if r0 < grid.height else 0)
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(), stack)
        aligned = tmp_path / "aligned.tif"
        with cog_writer(aligned, grid, ["a", "b"]) as dst:
            for r0 in range(0, grid.height, 256):
                dst.write(r0, stack[:, r0 : r0 + 256])
        with rasterio.open(aligned) as ref:
            for factor in src.overviews(1):
                shape = (2, -(-grid.height // factor), -(-grid.width // factor))
                np.testing.assert_array_equal(src.read(out_shape=shape), ref.read(out_shape=shape))
