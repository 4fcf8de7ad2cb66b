"""The simplest correct chain (soilsat.sar.reference.simple_chain): calibrated, noise-removed sigma0 geocoded by
the annotation's geolocation grid, on ESA's real metadata with synthetic measurements and on demo products."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from conftest import real_fixture
from soilsat.errors import ProductError
from soilsat.grid import StudyGrid, region_grid
from soilsat.sar import calibration as cal
from soilsat.sar import safe
from soilsat.sar.reference import geolocation_grid
from soilsat.sar.reference.simple_chain import sigma0_on_grid

S1B = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"


def _db(x):
    return 10 * np.log10(x)


def _copy_metadata(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    (dst / "measurement").mkdir(exist_ok=True)
    return dst


def _write_sparse_measurement(
    path: Path, shape: tuple[int, int], window: tuple[int, int, int, int], dn: np.ndarray
) -> None:
    r0, r1, c0, c1 = window
    profile = dict(
        driver="GTiff",
        width=shape[1],
        height=shape[0],
        count=1,
        dtype="uint16",
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        sparse_ok=True,
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(dn, 1, window=Window(c0, r0, c1 - c0, r1 - r0))


def _truth_field(line, pixel):
    return 0.04 * (1 + 0.5 * np.sin(line / 40.0) * np.cos(pixel / 65.0))


def test_sigma0_on_grid_with_real_metadata(tmp_path):
    src = real_fixture("s1", S1B)
    copy = _copy_metadata(src, tmp_path / S1B)
    product = safe.open_product(copy)
    data = product.polarisation("VV")
    ann = data.annotation
    grid = region_grid("t", 13.6, 41.85, 3000, 0)
    model = geolocation_grid.GeolocationModel.from_annotation(ann, grid.crs)
    line, pixel = geolocation_grid.grid_to_image(model, grid)
    r0, r1 = int(line.min()) - 10, int(line.max()) + 11
    c0, c1 = int(pixel.min()) - 10, int(pixel.max()) + 11
    ll, pp = np.mgrid[r0:r1, c0:c1]
    a = cal.lut_on_image(data.calibration.vectors, ll[:, 0], pp[0], "sigma_nought")
    noise = cal.noise_on_image(data.noise.range_vectors, ll[:, 0], pp[0], data.noise.azimuth_vectors)
    dn = np.round(np.sqrt(_truth_field(ll, pp) * a**2 + noise)).astype(np.uint16)
    tiff = copy / data.measurement
    _write_sparse_measurement(tiff, (ann.number_of_lines, ann.number_of_samples), (r0, r1, c0, c1), dn)

    ds = sigma0_on_grid(copy, grid, polarisations=("VV",))
    assert set(ds.data_vars) == {"sigma0_VV", "incidence_angle", "mask"}
    assert ds.sigma0_VV.dtype == np.float32 and ds.sigma0_VV.shape == grid.shape
    np.testing.assert_allclose(ds.x.values, grid.x_coords())
    np.testing.assert_allclose(ds.y.values, grid.y_coords())
    assert ds.attrs["orbit_direction"] == "DESCENDING" and ds.attrs["relative_orbit"] == 22
    assert ds.attrs["sensing_start"] == "2021-12-23T05:11:22.594441" and ds.attrs["product"] == S1B[:-5]
    assert ds.mask.values.all()
    expected = _truth_field(line, pixel)
    err_db = np.abs(_db(ds.sigma0_VV.values) - _db(expected))
    assert np.median(err_db) < 0.1 and np.percentile(err_db, 99) < 0.5
    inc = ds.incidence_angle.values
    assert 25 < inc.min() and inc.max() < 47 and np.ptp(inc) < 1.0

    # asking for a polarisation the copy does not hold names the missing file
    with pytest.raises(ProductError, match="vh"):
        sigma0_on_grid(copy, grid, polarisations=("VV", "VH"))
    with pytest.raises(ProductError, match="HH"):
        sigma0_on_grid(copy, grid, polarisations=("HH",))

    # a grid outside the swath: all NaN, mask 0
    far = region_grid("far", 2.0, 48.0, 1000, 0)
    out = sigma0_on_grid(copy, far, polarisations=("VV",))
    assert not out.mask.values.any() and np.isnan(out.sigma0_VV.values).all()


def test_measurement_smaller_than_annotation(tmp_path):
    copy = _copy_metadata(real_fixture("s1", S1B), tmp_path / S1B)
    data = safe.open_product(copy).polarisation("VV")
    tiff = copy / data.measurement
    _write_sparse_measurement(tiff, (1000, 26102), (0, 10, 0, 10), np.ones((10, 10), np.uint16))
    grid = region_grid("t", 15.0, 42.3, 1000, 0)  # near the first lines
    with pytest.raises(ProductError) as e:
        sigma0_on_grid(copy, grid, polarisations=("VV",))
    assert tiff.name in str(e.value) and "16705" in e.value.problem


# ------------------------------------------------------------------ demo world end to end


@pytest.fixture(scope="module")
def demo_products(s1_demo_world):
    """The demo world's regions, root and zipped Sentinel-1 products (conftest)."""
    root, region, _ = s1_demo_world
    zips = sorted((root / "archive" / "sentinel1").glob("*.zip"))
    assert zips, "the demo generator wrote no Sentinel-1 products"
    return [region], root, zips


def _box_mean(a: np.ndarray, k: int = 5) -> np.ndarray:
    from scipy.ndimage import uniform_filter

    valid = np.isfinite(a)
    s = uniform_filter(np.where(valid, a, 0.0), k, mode="constant")
    n = uniform_filter(valid.astype(float), k, mode="constant")
    out = np.where(n > 0.999, s / np.maximum(n, 1e-9), np.nan)
    return out


def _peak_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Shift (rows, cols) of the cross-correlation peak between two images, sub-pixel."""
    a = np.where(np.isfinite(a), a - np.nanmean(a), 0.0)
    b = np.where(np.isfinite(b), b - np.nanmean(b), 0.0)
    xc = np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(b))).real
    xc = np.fft.fftshift(xc)
    i, j = np.unravel_index(np.argmax(xc), xc.shape)

    def sub(c_m, c_0, c_p):
        d = c_m - 2 * c_0 + c_p
        return 0.0 if d == 0 else 0.5 * (c_m - c_p) / d

    di = sub(xc[i - 1, j], xc[i, j], xc[i + 1, j])
    dj = sub(xc[i, j - 1], xc[i, j], xc[i, j + 1])
    return i - xc.shape[0] // 2 + di, j - xc.shape[1] // 2 + dj


def test_demo_products_against_truth(demo_products):
    world, root, zips = demo_products
    region = world[0]
    grid: StudyGrid = region.grid
    checked = 0
    for z in zips:
        truth_tif = root / "truth" / "sentinel1" / f"{z.stem}_{grid.region}.tif"
        if not truth_tif.exists():
            continue
        ds = sigma0_on_grid(z, grid)
        with rasterio.open(truth_tif) as src:
            names = list(src.descriptions)
            truth = {n: src.read(i + 1).astype(float) for i, n in enumerate(names)}
        for pol in ("VV", "VH"):
            out = _box_mean(ds[f"sigma0_{pol}"].values.astype(float))
            ref = _box_mean(truth[f"sigma0_{pol}"])
            # homogeneous: the truth barely varies within 5 x 5
            local = _box_mean(np.abs(truth[f"sigma0_{pol}"] - ref))
            homogeneous = np.isfinite(out) & np.isfinite(ref) & (local < 0.05 * ref)
            assert homogeneous.mean() > 0.2
            diff = np.abs(_db(out[homogeneous]) - _db(ref[homogeneous]))
            assert np.median(diff) < 1.0, f"{z.name} {pol}: median |dB| {np.median(diff):.2f}"
        shift = _peak_shift(_db(_box_mean(ds.sigma0_VV.values.astype(float))), _db(_box_mean(truth["sigma0_VV"])))
        assert abs(shift[0]) < 1 and abs(shift[1]) < 1, f"{z.name}: shifted by {shift}"
        inc_err = np.nanmedian(np.abs(ds.incidence_angle.values - truth["incidence_angle"]))
        assert inc_err < 0.5
        checked += 1
    assert checked > 0
