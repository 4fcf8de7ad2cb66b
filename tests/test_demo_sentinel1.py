"""The demo world's Sentinel-1 GRD products: readable as SAFE, geometrically and radiometrically true."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from lxml import etree
from scipy import ndimage

xarray_sentinel = pytest.importorskip("xarray_sentinel")

from soilsat.demo import orbit as orb  # noqa: E402
from soilsat.demo.sentinel1 import write_products  # noqa: E402
from soilsat.demo.world import RegionSpec, WorldSpec, make_world, sentinel1_schedule  # noqa: E402


def _open(safe: Path, group: str | None = None):
    """Open a SAFE folder (or one of its groups) with xarray-sentinel's backend."""
    return xr.open_dataset(safe, engine="sentinel-1", group=group)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A tiny one-region world, its products written and extracted once for the module."""
    spec = WorldSpec(
        regions=(RegionSpec("tiny", 8.95, 55.95, 1500, "humid"),),
        start=dt.date(2020, 1, 1),
        end=dt.date(2020, 1, 20),
        probes_per_region=3,
        lucas_samples=10,
    )
    world = make_world(spec)
    root = tmp_path_factory.mktemp("s1")
    records = write_products(world, spec, root / "archive", root / "truth")
    safes = {}
    for rec in records:
        with zipfile.ZipFile(root / "archive" / rec["path"]) as z:
            z.extractall(root / "safe")
        safes[rec["name"]] = root / "safe" / f"{rec['name']}.SAFE"
    return spec, world, root, records, safes


def test_records_match_schedule_and_files(demo):
    spec, _, root, records, safes = demo
    schedule = sentinel1_schedule(spec)
    assert len(records) == len(schedule) == 4
    for rec, (_, row) in zip(records, schedule.iterrows()):
        assert rec["orbit_direction"] == row["direction"]
        assert rec["relative_orbit"] == row["relative_orbit"]
        assert (rec["absolute_orbit"] - 73) % 175 + 1 == rec["relative_orbit"]
        assert rec["name"].startswith(f"S1A_IW_GRDH_1SDV_{row['date']:%Y%m%d}T")
        assert pd.Timestamp(rec["sensing_start"]).date() == row["date"].date()
        assert (root / "archive" / rec["path"]).stat().st_size == rec["size"]
        names = zipfile.ZipFile(root / "archive" / rec["path"]).namelist()
        assert all(n.startswith(rec["name"] + ".SAFE/") for n in names)
        assert len([n for n in names if n.endswith(".tiff")]) == 2


def test_xarray_sentinel_opens_product(demo):
    _, _, _, records, safes = demo
    rec = records[0]
    safe = safes[rec["name"]]
    root = _open(safe)
    assert root.attrs["pass"] == rec["orbit_direction"]
    assert root.attrs["relative_orbit_number"] == rec["relative_orbit"]
    assert root.attrs["orbit_number"] == rec["absolute_orbit"]
    meas = _open(safe, group="IW/VV")
    vh = _open(safe, group="IW/VH")
    n_lines, n_pixels = meas.measurement.shape
    assert 300 < n_lines < 1000 and 300 < n_pixels < 1000
    assert vh.measurement.shape == (n_lines, n_pixels)
    t = meas.azimuth_time.values
    assert t[0] == np.datetime64(rec["sensing_start"].rstrip("Z"), "ns")
    assert abs((t[-1] - np.datetime64(rec["sensing_stop"].rstrip("Z"), "ns")) / np.timedelta64(1, "us")) <= 1
    assert np.allclose(np.diff(meas.ground_range.values), 10.0)
    data = meas.measurement.values
    assert (data[:10] == 0).all() and (data[:, -10:] == 0).all()
    assert (data[n_lines // 2, 100:-100] > 0).all()
    cal = _open(safe, group="IW/VV/calibration")
    assert cal.sigmaNought.dims == ("line", "pixel")
    assert cal.pixel.values[-1] == n_pixels - 1
    assert 500 < float(cal.sigmaNought.min()) and float(cal.sigmaNought.max()) < 700
    gcp = _open(safe, group="IW/VV/gcp")
    assert gcp.latitude.shape == (10, 21)
    assert gcp.line.values[-1] == n_lines - 1 and gcp.pixel.values[-1] == n_pixels - 1
    orbit = _open(safe, group="IW/VV/orbit")
    assert orbit.position.shape == (3, 31)
    assert orbit.azimuth_time.values[0] < t[0] < t[-1] < orbit.azimuth_time.values[-1]
    assert np.allclose(np.linalg.norm(orbit.position.values, axis=0), orb.WGS84_A + orb.ALTITUDE, atol=1.0)
    noise = _open(safe, group="IW/VV/noise_range")
    assert noise.noiseRangeLut.shape == cal.sigmaNought.shape
    with rasterio.open(next((safe / "measurement").glob("*-vv-*.tiff"))) as src:
        gcps, crs = src.gcps
        assert crs.to_epsg() == 4326 and len(gcps) == 210
        assert src.dtypes == ("uint16",) and (src.height, src.width) == (n_lines, n_pixels)
        assert gcps[-1].row == n_lines - 1 and gcps[-1].col == n_pixels - 1


def _read_orbit(safe: Path) -> orb.Orbit:
    """The orbit from a product's own VV annotation."""
    ds = _open(safe, group="IW/VV/orbit")
    return orb.Orbit.from_state_vectors(ds.azimuth_time.values, ds.position.values.T, ds.velocity.values.T)


def _geolocation_points(safe: Path) -> pd.DataFrame:
    """Every geolocationGridPoint of the VV annotation, as ESA wrote it (per point, not per row/column)."""
    path = next((safe / "annotation").glob("*-vv-*.xml"))
    points = etree.parse(str(path)).getroot().findall(".//geolocationGridPoint")
    rows = [{c.tag: c.text for c in p} for p in points]
    df = pd.DataFrame(rows)
    df["azimuthTime"] = pd.to_datetime(df["azimuthTime"])
    for col in ["slantRangeTime", "latitude", "longitude", "height", "incidenceAngle", "line", "pixel"]:
        df[col] = df[col].astype(float)
    return df


def test_geolocation_grid_agrees_with_orbit(demo):
    _, _, _, records, safes = demo
    for rec in records[:2]:
        safe = safes[rec["name"]]
        orbit = _read_orbit(safe)
        pts = _geolocation_points(safe)
        assert len(pts) == 210
        lon, lat, h = pts["longitude"].values, pts["latitude"].values, pts["height"].values
        t, r = orb.zero_doppler(orbit, orb.geodetic_to_ecef(lon, lat, h))
        t_annot = orbit.seconds(pts["azimuthTime"].values)
        r_annot = pts["slantRangeTime"].values * orb.SPEED_OF_LIGHT / 2
        assert np.abs(t - t_annot).max() < 1e-3
        assert np.abs(r - r_annot).max() < 0.1
        inc = orb.incidence_angle(orbit, t, lon, lat, h)
        assert np.abs(inc - pts["incidenceAngle"].values).max() < 1e-3
        assert 36.5 < inc.min() and inc.max() < 39.5
        # The GRD grid: 10 m between ground positions along range on average (terrain shifts single points).
        xyz = orb.geodetic_to_ecef(lon, lat, h).reshape(10, 21, 3)
        step = np.linalg.norm(np.diff(xyz, axis=1), axis=-1) / np.diff(pts["pixel"].values.reshape(10, 21), axis=1)
        assert abs(step.mean() - 10.0) < 0.1 and np.abs(step - 10.0).max() < 1.5


def _calibrate(safe: Path) -> tuple[np.ndarray, orb.Orbit, dict]:
    """Noise-subtracted sigma0 intensity of every VV pixel from the product's own LUTs."""
    meas = _open(safe, group="IW/VV")
    cal = _open(safe, group="IW/VV/calibration")
    nr = _open(safe, group="IW/VV/noise_range")
    na = _open(safe, group="IW/VV/noise_azimuth")
    lines = np.arange(meas.sizes["azimuth_time"])
    pixels = np.arange(meas.sizes["ground_range"])
    a = cal.sigmaNought.interp(line=lines, pixel=pixels).values
    n_range = nr.noiseRangeLut.interp(line=lines, pixel=pixels).values
    n_az = np.interp(lines, na.line.values, na.noiseAzimuthLut.values)[:, None]
    dn = meas.measurement.values.astype(np.float64)
    sigma0 = (dn**2 - n_range * n_az) / a**2
    return sigma0, _read_orbit(safe), meas.attrs


def test_calibrated_parcel_mean_matches_truth(demo):
    _, world, root, records, safes = demo
    region = world[0]
    parcel = region.truth["parcel"].values
    classes = region.truth["parcel_class"].values
    land = classes[parcel] != 512
    sizes = np.bincount(parcel[land].ravel(), minlength=len(classes))
    checked = 0
    for rec in records[:2]:
        safe = safes[rec["name"]]
        sigma0, orbit, attrs = _calibrate(safe)
        cc = _open(safe, group="IW/VV/coordinate_conversion")
        with rasterio.open(root / "truth" / "sentinel1" / f"{rec['name']}_tiny.tif") as src:
            truth_vv = src.read(1)
        lon, lat = region.grid.lonlat()
        h = region.truth["elevation"].values
        t, r = orb.zero_doppler(orbit, orb.geodetic_to_ecef(lon, lat, h))
        t_first = orbit.seconds(np.datetime64(attrs["product_first_line_utc_time"]))
        line = np.rint((t - t_first) / attrs["azimuth_time_interval"]).astype(int)
        srgr = cc.srgrCoefficients.values[0]
        ground = np.polynomial.polynomial.polyval(r - cc.sr0.values[0], srgr)
        pixel = np.rint(ground / attrs["range_pixel_spacing"]).astype(int)
        for pid in np.argsort(sizes)[::-1][:3]:
            mask = ndimage.binary_erosion(parcel == pid, iterations=2)
            measured = sigma0[line[mask], pixel[mask]].mean()
            expected = truth_vv[mask].mean()
            assert abs(10 * np.log10(measured / expected)) < 0.3, (rec["name"], pid)
            checked += 1
    assert checked == 6


def test_truth_cog_on_study_grid(demo):
    _, world, root, records, _ = demo
    grid = world[0].grid
    for rec in records:
        with rasterio.open(root / "truth" / "sentinel1" / f"{rec['name']}_tiny.tif") as src:
            assert src.descriptions == ("sigma0_VV", "sigma0_VH", "incidence_angle")
            assert src.crs.to_epsg() == grid.epsg
            assert (src.height, src.width) == grid.shape
            assert src.transform.almost_equals(grid.transform)
            vv, vh, inc = src.read()
        assert 36.5 < inc.min() and inc.max() < 39.5
        assert np.all(vh < vv)
        assert 0.003 < np.median(vv) < 0.3
