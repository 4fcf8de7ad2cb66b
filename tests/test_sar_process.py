"""Calibration, noise removal and geocoding of GRD products: analytic cases, ESA's real
metadata paired with synthetic measurement windows, and the demo world's products."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
from rasterio.windows import Window

from conftest import real_fixture
from soilsat.errors import ProductError
from soilsat.grid import StudyGrid, region_grid
from soilsat.sar import calibration as cal
from soilsat.sar import geocode, safe
from soilsat.sar.process import sigma0_on_grid

S1B = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"
S1A = "S1A_IW_GRDH_1SDV_20150203T043109_20150203T043134_004454_00574F_6D00.zip"


@dataclasses.dataclass
class _Vec:
    line: int
    pixel: np.ndarray
    lut: np.ndarray


def _db(x):
    return 10 * np.log10(x)


# ------------------------------------------------------------------------- analytic LUTs


def test_lut_is_bilinear_with_per_vector_pixels():
    f = lambda l, p: 3.0 + 0.01 * l + 0.002 * p  # noqa: E731  (bilinear: exact)
    vectors = [
        _Vec(0, np.array([0, 40, 80, 100]), None),
        _Vec(50, np.array([0, 30, 100]), None),
        _Vec(120, np.array([0, 50, 60, 100]), None),
    ]
    vectors = [_Vec(v.line, v.pixel, f(v.line, v.pixel.astype(float))) for v in vectors]
    lines, samples = np.arange(10, 110), np.arange(5, 95)
    out = cal.lut_on_image(vectors, lines, samples, field="lut")
    assert out.shape == (100, 90)
    np.testing.assert_allclose(out, f(lines[:, None], samples[None, :]), rtol=1e-12)
    # a window given as (start, stop) pairs is the same as the explicit ranges
    np.testing.assert_allclose(cal.lut_on_image(vectors, (10, 110), (5, 95), field="lut"), out)
    # outside the first/last vector and sample the edge value holds
    edge = cal.lut_on_image(vectors, [200], [100, 150], field="lut")
    np.testing.assert_allclose(edge, [[f(120, 100), f(120, 100)]])


def test_azimuth_noise_blocks_and_sigma0():
    rng_vectors = [_Vec(0, np.array([0, 99]), np.array([100.0, 100.0])), _Vec(99, np.array([0, 99]), np.array([100.0, 100.0]))]
    az = [
        safe.NoiseAzimuthVector("IW1", 0, 0, 99, 49, np.array([0, 99]), np.array([1.0, 2.0])),
        safe.NoiseAzimuthVector("IW2", 0, 50, 99, 99, np.array([0, 99]), np.array([3.0, 3.0])),
    ]
    noise = cal.noise_on_image(rng_vectors, (0, 100), (0, 100), az)
    assert noise[0, 0] == 100 and noise[99, 49] == 200 and noise[0, 50] == 300
    assert noise[33, 10] == pytest.approx(100 * (1 + 33 / 99))
    dn = np.array([[0, 10, 20], [30, 5, 1]], dtype=np.uint16)
    s = cal.sigma0(dn, np.full(dn.shape, 10.0), np.full(dn.shape, 50.0))
    assert np.isnan(s[0, 0]) and s.dtype == np.float32
    np.testing.assert_allclose(s[0, 1:], [(100 - 50) / 100, (400 - 50) / 100])
    assert s[1, 1] == 0 and s[1, 2] == 0  # below the noise: clipped at 0, still valid
    np.testing.assert_allclose(cal.sigma0(dn, np.full(dn.shape, 10.0))[0, 2], 4.0)


# ------------------------------------------------------------- round trip on real LUTs


@pytest.mark.parametrize("name,pol,offset", [(S1B, "VV", (7300, 8700)), (S1A, "VH", (12000, 20000)), (S1A, "VV", (150, 60))])
def test_calibration_round_trip_on_real_luts(name, pol, offset):
    """DN = sqrt(sigma0 * A^2 + noise), quantised to uint16, calibrates back to sigma0."""
    data = safe.open_product(real_fixture("s1", name)).polarisation(pol)
    r0, c0 = offset
    lines, samples = np.arange(r0, r0 + 300), np.arange(c0, c0 + 300)
    a = cal.lut_on_image(data.calibration.vectors, lines, samples, "sigma_nought")
    noise = cal.noise_on_image(data.noise.range_vectors, lines, samples, data.noise.azimuth_vectors)
    assert np.all(noise > 0) and np.all(a > 0)
    rng = np.random.default_rng(1)
    ll, pp = np.meshgrid(lines, samples, indexing="ij")
    truth_db = -14 + 5 * np.sin(ll / 37.0) * np.cos(pp / 53.0) + rng.normal(0, 0.5, ll.shape)  # -20 .. -8 dB
    truth = 10 ** (truth_db / 10)
    dn = np.clip(np.round(np.sqrt(truth * a**2 + noise)), 1, 65535).astype(np.uint16)
    out = cal.calibrate_window(data, dn, r0, c0)
    assert out.shape == (300, 300) and np.all(np.isfinite(out))
    worst = 0.0
    for i in range(0, 300, 100):
        for j in range(0, 300, 100):
            block = (slice(i, i + 100), slice(j, j + 100))
            worst = max(worst, abs(_db(out[block].mean()) - _db(truth[block].mean())))
    assert worst < 0.05, f"block mean off by {worst:.3f} dB"


# ------------------------------------------------------------------ geocoding, real grid


@pytest.fixture(scope="module")
def s1b_annotation():
    return safe.open_product(real_fixture("s1", S1B)).annotation("VV")


def test_geocoding_reproduces_esa_nodes_on_a_study_grid(s1b_annotation):
    g = s1b_annotation.geolocation
    # a 60 km region in the middle of the scene (hilly: nodes up to ~1500 m), 50 m pixels
    grid = region_grid("abruzzo", 13.6, 41.85, 60000, 0, resolution=50.0)
    model = geocode.GeolocationModel.from_annotation(s1b_annotation, grid.crs)
    line, pixel = geocode.grid_to_image(model, grid)
    x, y = grid.to_grid_crs(g.longitude.values, g.latitude.values)
    inside = grid.contains(x, y)
    assert inside.sum() >= 6
    # fractional grid position of each node, then bilinear in the mapped arrays
    col = (np.asarray(x)[inside] - grid.x0) / grid.resolution - 0.5
    row = (grid.y0 - np.asarray(y)[inside]) / grid.resolution - 0.5
    got_line = geocode.sample_bilinear(line, row, col).astype(float)
    got_pixel = geocode.sample_bilinear(pixel, row, col).astype(float)
    err_line = np.abs(got_line - g.line.values[inside])
    err_pixel = np.abs(got_pixel - g.pixel.values[inside])
    assert err_line.max() < 0.5 and err_pixel.max() < 0.5, (err_line.max(), err_pixel.max())
    assert g.height.values[inside].max() > 500  # the height shift is really exercised


@pytest.mark.parametrize("name", [S1B, S1A])
@pytest.mark.parametrize("axis", ["pixel", "line"])
def test_geocoding_leave_one_out(name, axis):
    """Nodes of a withheld range column / azimuth row are predicted from the others, at their
    own heights (as with a DEM): between-node accuracy, not just reproduction of the nodes."""
    ann = safe.open_product(real_fixture("s1", name)).annotation("VV")
    g = ann.geolocation
    crs = f"EPSG:{region_grid('c', g.longitude.mean(), g.latitude.mean(), 1000, 0).epsg}"
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    worst = 0.0
    for p in np.unique(g[axis])[1:-1]:
        model = geocode.GeolocationModel.from_annotation(ann, crs, g[g[axis] != p])
        held = g[g[axis] == p]
        x, y = to_crs.transform(held.longitude.values, held.latitude.values)
        line, pixel = model.image_coords(x, y, height=held.height.values)
        worst = max(worst, np.abs(line - held.line.values).max(), np.abs(pixel - held.pixel.values).max())
    assert worst < 0.5, worst


def test_node_heights_shift_ground_positions(s1b_annotation):
    """With the node heights ignored (h = 0), mountain nodes land tens of pixels off."""
    g = s1b_annotation.geolocation
    crs = "EPSG:32633"
    model = geocode.GeolocationModel.from_annotation(s1b_annotation, crs)
    x, y = model.forward(g.line.values, g.pixel.values)
    xt, yt = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(g.longitude.values, g.latitude.values)
    assert np.hypot(x - xt, y - yt).max() < 1.0  # metres
    _, p0 = model.image_coords(xt, yt, height=np.zeros(len(g)))
    high = g.height.values > 1000
    assert np.all(p0[high] - g.pixel.values[high] > 50)


# ------------------------------------------------- sigma0 on a grid, real metadata + window


def _copy_metadata(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    (dst / "measurement").mkdir(exist_ok=True)
    return dst


def _write_sparse_measurement(path: Path, shape: tuple[int, int], window: tuple[int, int, int, int], dn: np.ndarray) -> None:
    r0, r1, c0, c1 = window
    profile = dict(driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="uint16", tiled=True,
                   blockxsize=256, blockysize=256, compress="deflate", sparse_ok=True)
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
    model = geocode.GeolocationModel.from_annotation(ann, grid.crs)
    line, pixel = geocode.grid_to_image(model, grid)
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
def demo_products(tmp_path_factory):
    s1 = pytest.importorskip("soilsat.demo.sentinel1", reason="the demo Sentinel-1 generator is not available")
    from soilsat.demo.world import RegionSpec, WorldSpec, make_world

    spec = WorldSpec(regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),), start=dt.date(2020, 4, 1),
                     end=dt.date(2020, 4, 20), probes_per_region=3, lucas_samples=10)
    world = make_world(spec)
    root = tmp_path_factory.mktemp("demo_s1")
    s1.write_products(world, spec, root / "archive", root / "truth")
    zips = sorted((root / "archive" / "sentinel1").glob("*.zip"))
    if not zips:
        pytest.skip("the demo generator wrote no Sentinel-1 products")
    return world, root, zips


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


@pytest.mark.parametrize("name,pol", [(S1B, "VV"), (S1A, "VH")])
def test_one_pass_calibration_equals_the_lut_arrays(name, pol):
    """sigma0_window (one compiled pass) against sigma0 of the interpolated LUT and noise arrays, on real metadata
    (IPF 3.40 with azimuth noise blocks, IPF 2.70 with range noise only)."""
    data = safe.open_product(real_fixture("s1", name)).polarisation(pol)
    rng = np.random.default_rng(2)
    r0, c0 = 700, 2000
    dn = rng.integers(0, 400, size=(300, 500)).astype(np.uint16)
    rows, cols = (r0, r0 + 300), (c0, c0 + 500)
    lut = cal.lut_on_image(data.calibration.vectors, rows, cols, "sigma_nought")
    noise = cal.noise_on_image(data.noise.range_vectors, rows, cols, data.noise.azimuth_vectors) * 1.7
    fast, fast_noise = cal.sigma0_window(data, dn, r0, c0, noise_scale=1.7, with_noise=True)
    np.testing.assert_array_equal(fast_noise, noise)
    np.testing.assert_array_equal(fast, cal.sigma0(dn, lut, noise))
    assert np.isnan(fast[dn == 0]).all() and (dn == 0).any()
    plain, none = cal.sigma0_window(data, dn, r0, c0, denoise=False)
    assert none is None
    np.testing.assert_array_equal(plain, cal.sigma0(dn, lut))
