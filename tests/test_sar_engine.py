"""The builtin engine (soilsat.sar.engine) running the SNAP graph on demo products, broken products and GRD border
noise on an old product."""

from __future__ import annotations

import datetime as dt
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from scipy import ndimage

from soilsat.demo.sentinel1_pass import NESZ_DB
from soilsat.errors import ConfigError, ProductError
from soilsat.io import read_bands
from soilsat.sar import engine, graph
from soilsat.sar.reference import whole_grid
from soilsat.sar.safe import open_product
from test_sar_graph import sentinel1_settings


@pytest.fixture(scope="module")
def world(s1_demo_world):
    """The tiny demo world: its root, region and Sentinel-1 product records, with its DEM folder (conftest)."""
    return s1_demo_world


def make_graph(world, out_dir: Path, product: Path | None = None, rec: dict | None = None, **overrides) -> Path:
    """The chain's graph for a product of the world (the first one by default), written beside the output."""
    root, region, records = world
    rec = rec or records[0]
    product = product or root / "archive" / rec["path"]
    xml = graph.build_graph(
        product,
        out_dir / f".{rec['name']}.snap.tif",
        region.grid,
        root / "dem" / "dem_t.tif",
        sentinel1_settings(**overrides),
    )
    path = out_dir / f"{rec['name']}.tif.graph.xml"
    graph.write_graph(path, xml)
    return path


@pytest.fixture(scope="module")
def outputs(world, tmp_path_factory):
    """Every demo product through the full builtin chain: (record, output COG, graph path) each."""
    out_dir = tmp_path_factory.mktemp("s1_out")
    region = world[1]
    done = []
    for rec in world[2]:
        g = make_graph(world, out_dir, rec=rec)
        out = out_dir / f"{rec['name']}.tif"
        result = engine.run_graph(g, region.grid, out, tags={"region": region.grid.region})
        done.append((rec, out, g, result))
    return done


def _xcorr_offset(a: np.ndarray, b: np.ndarray, m: int = 3) -> tuple[float, float]:
    """(row, col) shift of b against a at the normalised cross-correlation peak, refined by a parabola."""
    a, b = np.nan_to_num(a - np.nanmean(a)), np.nan_to_num(b - np.nanmean(b))
    n0, n1 = a.shape
    core = a[m : n0 - m, m : n1 - m]
    c = np.empty((2 * m + 1, 2 * m + 1))
    for i in range(-m, m + 1):
        for j in range(-m, m + 1):
            other = b[m + i : n0 - m + i, m + j : n1 - m + j]
            c[i + m, j + m] = (core * other).sum() / np.sqrt((core**2).sum() * (other**2).sum())
    i, j = np.unravel_index(np.argmax(c), c.shape)
    assert 0 < i < 2 * m and 0 < j < 2 * m
    sub = lambda lo, mid, hi: 0.5 * (lo - hi) / (lo - 2 * mid + hi)  # noqa: E731
    return i - m + sub(c[i - 1, j], c[i, j], c[i + 1, j]), j - m + sub(c[i, j - 1], c[i, j], c[i, j + 1])


def _field_means(region, image: np.ndarray) -> np.ndarray:
    """Mean of `image` over the interior (2 pixels in) of every parcel of at least 100 interior pixels."""
    labels = region.truth["parcel"].values
    interior = ndimage.minimum_filter(labels, 5) == ndimage.maximum_filter(labels, 5)
    ids, counts = np.unique(labels[interior], return_counts=True)
    big = ids[counts >= 100]
    assert big.size >= 20
    return ndimage.mean(image.astype(float), labels=np.where(interior, labels, -1), index=big)


def test_valid_fraction_is_the_mask_bands(outputs):
    fractions = []
    for _, out, _, result in outputs:
        with rasterio.open(out) as src:
            mask = src.read(src.descriptions.index("mask") + 1)
        assert result.grid_pixels == mask.size
        assert result.valid_pixels == np.count_nonzero(mask == 1)
        fractions.append(result.valid_fraction)
    assert 0.5 < min(fractions) <= max(fractions) <= 1.0


def test_valid_fraction_of_a_mask_engine_snap_returns():
    result = engine.GraphOutput.of_mask(np.array([[0, 1, 1], [2, 3, 1]], np.uint8), {"engine": "snap"})
    assert (result.valid_pixels, result.grid_pixels, result.valid_fraction) == (3, 6, 0.5)
    assert engine.GraphOutput(0, 0, {}).valid_fraction == 0.0


def test_output_cog_layout_and_tags(world, outputs):
    region = world[1]
    for rec, out, g, _ in outputs:
        with rasterio.open(out) as src:
            assert src.descriptions == ("sigma0_VV", "sigma0_VH", "incidence_angle", "local_incidence_angle", "mask")
            assert src.crs.to_epsg() == region.grid.epsg and src.shape == region.grid.shape
            assert src.transform.almost_equals(region.grid.transform)
            assert np.isnan(src.nodata)
            tags = src.tags()
        assert tags["product"] == rec["name"]
        assert tags["orbit_direction"] == rec["orbit_direction"]
        assert int(tags["relative_orbit"]) == rec["relative_orbit"]
        sensing_start = dt.datetime.fromisoformat(rec["sensing_start"].rstrip("Z"))
        assert dt.datetime.fromisoformat(tags["sensing_start"]) == sensing_start
        assert tags["graph_hash"] == graph.graph_hash(g.read_text())
        assert tags["attribution"] == "Contains modified Copernicus Sentinel data"
        assert tags["engine"] == "builtin" and tags["region"] == "t"
        bands = read_bands(out)
        assert np.all(bands["mask"] == 1)  # gentle terrain, product covering the grid with a margin
        assert np.all(np.isfinite(bands["sigma0_VV"])) and np.all(bands["sigma0_VV"] >= 0)
        assert 25 < np.nanmean(bands["incidence_angle"]) < 50
        assert np.all(np.abs(bands["local_incidence_angle"] - bands["incidence_angle"]) < 20)


def test_sigma0_against_the_truth_over_fields(world, outputs):
    root, region, _ = world
    for rec, out, _, _ in outputs:
        ours = read_bands(out)
        truth = read_bands(root / "truth" / "sentinel1" / f"{rec['name']}_t.tif")
        for pol in ("VV", "VH"):
            t = _field_means(region, truth[f"sigma0_{pol}"])
            diff = 10 * np.log10(_field_means(region, ours[f"sigma0_{pol}"]) / t)
            # Near the noise floor the zeros of clipped noise removal stay outside the Lee sigma range and
            # lift the filtered mean (about +0.5 dB at 1.5 dB above the NESZ): fields are judged above 3 dB.
            strong = 10 * np.log10(t) > NESZ_DB[pol] + 3
            assert strong.sum() >= 10 or pol == "VH"
            if strong.sum() >= 10:
                assert np.median(np.abs(diff[strong])) <= 0.3, f"{rec['name']} {pol}: {np.round(diff[strong], 2)}"


def test_geolocation_within_half_a_pixel(world, outputs):
    root = world[0]
    for rec, out, _, _ in outputs:
        ours = read_bands(out)["sigma0_VV"]
        truth = read_bands(root / "truth" / "sentinel1" / f"{rec['name']}_t.tif")["sigma0_VV"]
        dy, dx = _xcorr_offset(10 * np.log10(truth), 10 * np.log10(np.maximum(ours, 1e-6)))
        assert np.hypot(dy, dx) < 0.5, f"{rec['name']}: offset ({dy:.2f}, {dx:.2f}) pixels"


def test_looks_are_read_back_from_the_graph(world, tmp_path, monkeypatch):
    seen = []
    real = engine.lee_sigma

    def spy(image, looks=1, window=7, target=3, sigma=0.9):
        seen.append((looks, window, target, sigma))
        return real(image, looks=looks, window=window, target=target, sigma=sigma)

    monkeypatch.setattr(engine, "lee_sigma", spy)
    g = make_graph(world, tmp_path, **{"speckle.looks": 2, "speckle.window": 9, "speckle.sigma": 0.8})
    spec = engine.read_chain(g)
    assert (spec.looks, spec.window, spec.target, spec.sigma) == (2, 9, 3, 0.8)
    engine.run_graph(g, world[1].grid, tmp_path / "o.tif")
    assert seen and set(seen) == {(2, 9, 3, 0.8)}


def test_blocks_agree_with_one_window(world, tmp_path):
    g = make_graph(world, tmp_path)
    spec = engine.read_chain(g)
    whole = whole_grid.run_chain(spec, world[1].grid, block_lines=4096)
    blocks = whole_grid.run_chain(spec, world[1].grid, block_lines=40)
    for pol in ("VV", "VH"):
        a, b = whole[f"sigma0_{pol}"].values, blocks[f"sigma0_{pol}"].values
        # only the per-block point-target threshold may differ: nearly every pixel is identical
        assert np.mean(a == b) > 0.99
        np.testing.assert_allclose(np.nanmean(a), np.nanmean(b), rtol=1e-3)


def test_border_noise_is_logged_as_masked_from_ipf_2_90(world, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="soilsat")
    whole_grid.run_chain(engine.read_chain(make_graph(world, tmp_path)), world[1].grid)
    assert "IPF 003.40 masks GRD borders itself (>= 2.90)" in caplog.text
    assert "no precise orbit file given" in caplog.text


def test_the_graph_must_match_the_grid(world, tmp_path):
    from soilsat.grid import region_grid

    g = make_graph(world, tmp_path)
    other = region_grid("t", 8.95, 55.95, 1500, 250, resolution=20)
    with pytest.raises(ConfigError, match="pixelSpacingInMeter 10.0 is not the grid's 20"):
        engine.run_graph(g, other, tmp_path / "o.tif")
    far = region_grid("t", 14.0, 55.95, 1500, 250)  # another UTM zone
    with pytest.raises(ConfigError, match="mapProjection is not the study grid's CRS EPSG:32633"):
        engine.run_graph(g, far, tmp_path / "o.tif")
    assert not (tmp_path / "o.tif").exists()


def test_the_grid_origin_must_be_a_pixel_centre(world, tmp_path):
    g = make_graph(world, tmp_path)
    grid = world[1].grid
    nodes = graph.parse_graph(g.read_text())
    tc = next(n for n in nodes if n.id == "Terrain-Correction")
    assert (float(tc.parameters["standardGridOriginX"]), float(tc.parameters["standardGridOriginY"])) == (
        grid.x0 + 5,
        grid.y0 - 5,
    )
    tc.parameters["standardGridOriginX"], tc.parameters["standardGridOriginY"] = repr(grid.x0), repr(grid.y0)
    graph.write_graph(g, graph.to_xml(nodes))
    with pytest.raises(ConfigError) as err:
        engine.run_graph(g, grid, tmp_path / "o.tif")
    assert str(err.value) == (
        f"{g}: Terrain-Correction must align to the standard grid whose origin is a pixel centre "
        f"of the study grid (alignToStandardGrid true, standardGridOriginX/Y {grid.x0 + 5!r}, "
        f"{grid.y0 - 5!r}), not True at {grid.x0!r}, {grid.y0!r}"
    )


def _eof(world, folder: Path, shift_h: float = 0.0, kind: str = "POEORB") -> Path:
    """An orbit file of the first product's pass, valid 13 h either side of its sensing start (shifted by `shift_h`)."""
    from soilsat.demo import orbit as demo_orbit
    from test_sar_orbit import write_eof

    rec = world[2][0]
    start = dt.datetime.fromisoformat(rec["sensing_start"].rstrip("Z")).replace(tzinfo=None)
    coarse = demo_orbit.pass_orbit(
        8.95, 55.95, start.date().isoformat(), rec["orbit_direction"], step_s=10.0, half_span_s=300.0
    )
    folder.mkdir(parents=True, exist_ok=True)
    return write_eof(
        folder / f"{rec['name']}.EOF",
        coarse,
        dt.datetime(2021, 3, 2, 10, 32, 53),
        start - dt.timedelta(hours=13 - shift_h),
        start + dt.timedelta(hours=13 + shift_h),
        kind=kind,
    )


def test_a_precise_orbit_given_is_applied(world, tmp_path):
    eof = _eof(world, tmp_path / "orbits")
    g = make_graph(world, tmp_path)
    text = g.read_text().replace("<continueOnFail>true<", "<continueOnFail>false<")
    g.write_text(text)
    attrs = engine.run_graph(g, world[1].grid, tmp_path / "o.tif", orbit_files=[eof]).attrs
    assert attrs["orbit"] == eof.name


@pytest.mark.parametrize("shift_h, kind", [(20.0, "POEORB"), (0.0, "RESORB")], ids=["not covering", "restituted"])
def test_a_precise_orbit_asked_for_and_not_applied_fails(world, tmp_path, shift_h, kind):
    eof = _eof(world, tmp_path / "orbits", shift_h, kind)
    g = make_graph(world, tmp_path)
    assert "<orbitType>Sentinel Precise (Auto Download)<" in g.read_text()
    with pytest.raises(ProductError) as err:
        engine.run_graph(g, world[1].grid, tmp_path / "o.tif", orbit_files=[eof])
    message = str(err.value)
    assert "Apply-Orbit-File asks for Sentinel Precise (Auto Download), but no orbit file given covers S1" in message
    assert f"{eof.name} ({kind}, S1A, valid " in message and message.endswith("the precise orbit was not applied")
    assert not (tmp_path / "o.tif").exists()


# --------------------------------------------------------------------------- broken products


def rewrite_zip(src: Path, dst: Path, change) -> Path:
    """A copy of a zip whose members pass through `change(name, data)` (None drops a member)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
    return dst


@pytest.mark.parametrize(
    "case, member, message",
    [
        ("truncated", "measurement/s1a-iw-grd-vv-", "measurement unreadable"),
        (
            "no_calibration",
            "annotation/calibration/calibration-s1a-iw-grd-vh-",
            "calibration file of polarisation VH is missing",
        ),
        ("no_noise", "annotation/calibration/noise-s1a-iw-grd-vv-", "noise file of polarisation VV is missing"),
    ],
)
def test_broken_products_fail_naming_the_file(world, tmp_path, case, member, message):
    root, region, records = world
    src = root / "archive" / records[0]["path"]

    def change(name, data):
        if member in name:
            return data[: len(data) // 2] if case == "truncated" else None
        return data

    broken = rewrite_zip(src, tmp_path / src.name, change)
    g = make_graph(world, tmp_path, product=broken)
    out = tmp_path / "out.tif"
    with pytest.raises(ProductError) as err:
        engine.run_graph(g, region.grid, out)
    assert member in err.value.path and message in str(err.value)
    assert str(broken) in err.value.path
    assert not out.exists() and not list(tmp_path.glob(".out.tif*"))


def test_a_polarisation_the_product_lacks(world, tmp_path):
    g = make_graph(world, tmp_path, polarisations=["HH"])
    out = tmp_path / "out.tif"
    with pytest.raises(ProductError, match=r"manifest.safe: polarisation HH not in this product \(it has VV/VH\)"):
        engine.run_graph(g, world[1].grid, out)
    assert not out.exists()


def test_a_missing_dem_is_named(world, tmp_path):
    g = make_graph(world, tmp_path)
    text = g.read_text().replace("dem_t.tif", "dem_nowhere.tif")
    g.write_text(text)
    with pytest.raises(ProductError, match="dem_nowhere.tif: DEM unreadable"):
        engine.run_graph(g, world[1].grid, tmp_path / "out.tif")


# --------------------------------------------------------------------------- border noise


def _old_product(world, tmp_path: Path, ipf: str, low: int = 12) -> Path:
    """A copy of the first demo product as IPF `ipf` left it: DN `low` instead of zeros in its no-value borders."""
    root, region, records = world
    src = root / "archive" / records[0]["path"]

    def change(name, data):
        if name.endswith("manifest.safe"):
            return data.replace(b'version="003.40"', f'version="{ipf}"'.encode())
        if "measurement/" in name:
            with rasterio.MemoryFile(data) as mem, mem.open() as ds:
                dn = ds.read(1)
                profile = ds.profile
            dn[dn == 0] = low
            with rasterio.MemoryFile() as out:
                with out.open(**profile) as dst:
                    dst.write(dn, 1)
                return out.read()
        return data

    folder = tmp_path / ipf
    folder.mkdir()
    return rewrite_zip(src, folder / src.name, change)


def _calibrated(spec, path: Path, pol: str = "VH") -> np.ndarray:
    """The whole image of one polarisation after noise removal, border noise removal and calibration."""
    with open_product(path) as product:
        data = product.polarisation(pol)
        ann = data.annotation
        window = (0, ann.number_of_lines, 0, ann.number_of_samples)
        plan = engine.plan_border(spec, product, window)
        meas = engine.Measurement(product, data)
        copol = engine.Measurement(product, product.polarisation(plan.copol)) if pol != plan.copol else None
        try:
            return engine.calibrate_block(spec, data, meas, copol, plan, window[:2], window[2:])
        finally:
            meas.close()
            if copol is not None:
                copol.close()


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_border_noise_on_an_old_product(world, tmp_path):
    """An IPF 2.70 product with low border samples instead of zeros: SNAP's zones are found from the co-pol (VV)
    edge profiles, their low pixels masked in VH too, the signal kept."""
    old = _old_product(world, tmp_path, "002.70")
    g = make_graph(world, tmp_path, product=old, **{"border_noise.border_limit": 100})
    spec = engine.read_chain(g)
    with open_product(old) as product:
        assert product.manifest.ipf_version == "002.70"
        ann = product.annotation("VV")
        plan = engine.plan_border(spec, product, (0, ann.number_of_lines, 0, ann.number_of_samples))
    assert plan.active and plan.copol == "VV"
    # 24 low lines and 36 low samples on each side (the demo's borders); the right zone reaches deeper (SNAP's 0.8)
    assert (plan.zones.top, plan.zones.bottom, plan.zones.left) == (24, 24, 36)
    assert plan.zones.right == 100 - 1 - int(0.8 * (100 - 36 - 1))
    image = _calibrated(spec, old)
    assert np.isnan(image[:, :36]).all() and np.isnan(image[:24]).all()
    assert np.isnan(image[-24:]).all() and np.isnan(image[:, -36:]).all()
    inner = image[24:-24, 36:-36]
    assert np.isfinite(inner).mean() > 0.99  # the signal is kept


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_the_noise_scale_of_old_products_is_for_border_removal_only(world, tmp_path):
    """IPF <= 2.50: SNAP scales the noise vector by K_noise * DN0^2 for border removal, not for thermal noise
    removal: away from the borders, the calibrated image is the one of an IPF 2.70 product."""
    g = make_graph(world, tmp_path, **{"border_noise.border_limit": 100})
    spec = engine.read_chain(g)
    a = _calibrated(spec, _old_product(world, tmp_path, "002.43"), "VV")
    b = _calibrated(spec, _old_product(world, tmp_path, "002.70"), "VV")
    inner = (slice(130, -130), slice(130, -130))  # beyond every zone
    np.testing.assert_array_equal(a[inner], b[inner])


# --------------------------------------------------------------------------- Sentinel-1C and 1D


def _as_unit(world, tmp_path: Path, unit: str) -> Path:
    """A faithful copy of the first demo product as Sentinel-1`unit` made it: the product, SAFE and member names,
    the manifest's platform number and file references, and the annotations' missionId of the new unit (no public
    S1C/S1D metadata was found to pair with the demo's measurement)."""
    root, region, records = world
    src = root / "archive" / records[0]["path"]
    low = unit.lower()

    def change(name, data):
        if name.endswith(".xml") or name.endswith("manifest.safe"):
            text = data.decode()
            text = text.replace("<safe:number>A</safe:number>", f"<safe:number>{unit}</safe:number>")
            text = text.replace("<missionId>S1A</missionId>", f"<missionId>S1{unit}</missionId>")
            text = text.replace("S1A_", f"S1{unit}_").replace("s1a-", f"s1{low}-").replace("s1aiw", f"s1{low}iw")
            return text.encode()
        return data

    dst = tmp_path / src.name.replace("S1A_", f"S1{unit}_")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            info.filename = info.filename.replace("S1A_", f"S1{unit}_").replace("s1a-", f"s1{low}-")
            zout.writestr(info, data)
    return dst


@pytest.mark.parametrize("unit", ["C", "D"])
def test_sentinel_1c_and_1d_pass_through_every_step(world, tmp_path, unit):
    """Name parsing, the mission of the manifest, calibration and noise, the orbit file of the unit (and not another
    unit's), the STAC Item: an S1C/S1D product gives what the same data gave as S1A."""
    from soilsat.sar.orbit import read_eof, select_eof
    from soilsat.stac.items import sentinel1_item

    product = _as_unit(world, tmp_path, unit)
    with open_product(product) as p:
        assert p.manifest.mission == f"S1{unit}" and p.name.startswith(f"S1{unit}_IW_GRDH_1SDV_")
        data = p.polarisation("VV")
        assert data.measurement.startswith(f"measurement/s1{unit.lower()}-iw-grd-vv-")
        assert data.calibration.vectors and data.noise.range_vectors and data.noise.azimuth_vectors
    rec = world[2][0]
    own = _eof(world, tmp_path / "own")
    other = _eof(world, tmp_path / "other")
    own = own.rename(own.with_name(own.name.replace("S1A", f"S1{unit}")))
    text = own.read_text().replace("Sentinel-1A", f"Sentinel-1{unit}")
    own.write_text(text)
    start = dt.datetime.fromisoformat(rec["sensing_start"].rstrip("Z"))
    eofs = [read_eof(own), read_eof(other)]
    assert select_eof(eofs, start, start + dt.timedelta(seconds=1), f"S1{unit}").path == own
    assert select_eof(eofs[1:], start, start + dt.timedelta(seconds=1), f"S1{unit}") is None
    g = make_graph(world, tmp_path, product=product, rec=rec)
    g.write_text(g.read_text().replace("<continueOnFail>true<", "<continueOnFail>false<"))
    out = tmp_path / "unit.tif"
    attrs = engine.run_graph(g, world[1].grid, out, orbit_files=[own]).attrs
    assert attrs["mission"] == f"S1{unit}" and attrs["orbit"] == own.name
    with pytest.raises(ProductError, match=f"no orbit file given covers S1{unit}"):
        engine.run_graph(g, world[1].grid, tmp_path / "o.tif", orbit_files=[other])
    reference = tmp_path / "s1a.tif"
    (tmp_path / "a").mkdir()
    g_a = make_graph(world, tmp_path / "a", rec=rec)
    g_a.write_text(g_a.read_text().replace("<continueOnFail>true<", "<continueOnFail>false<"))
    engine.run_graph(g_a, world[1].grid, reference, orbit_files=[other])
    a, c = read_bands(reference), read_bands(out)
    for name in a:
        np.testing.assert_array_equal(a[name], c[name])
    item = sentinel1_item(out, tmp_path / "unit.json", g, product)
    assert item["properties"]["platform"] == f"sentinel-1{unit.lower()}"


def test_snaps_range_polynomials_are_read_from_the_graph(world, tmp_path):
    g = make_graph(world, tmp_path, range_polynomial="interpolated")
    assert engine.read_chain(g).range_polynomial == "interpolated"
    (tmp_path / "n").mkdir()
    assert engine.read_chain(make_graph(world, tmp_path / "n")).range_polynomial == "nearest"
    attrs = engine.run_graph(g, world[1].grid, tmp_path / "o.tif").attrs
    assert attrs["range_polynomial"] == "interpolated"
