"""The CSM (CGLS SSM 1 km) and ECV_SM (ESA CCI SM COMBINED) readers, crops and point sampling on real files."""

from __future__ import annotations

import shutil

import netCDF4
import numpy as np
import pandas as pd
import pytest

from conftest import real_fixture
from soilsat.errors import ProductError
from soilsat.reference import cgls_ssm, esacci_sm, latlon
from soilsat.reference.conversion import cosby_porosity, saturation_to_volumetric
from soilsat.reference.crop import copy_window
from soilsat.reference.kinds import product_kind
from soilsat.reference.sampling import sample_points

CGLS_DAY1 = ("cgls", "c_gls_SSM1km_201706010000_CEURO_S1CSAR_V1.1.1.nc")
CGLS_DAY2 = ("cgls", "c_gls_SSM1km_201706020000_CEURO_S1CSAR_V1.1.1.nc")
ESACCI = ("esacci", "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20100701000000-fv04.5.nc")


def raw(path, name: str) -> np.ndarray:
    """A variable's stored values, read with netCDF4 without any decoding."""
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        return np.asarray(nc[name][:])


def test_cgls_reader_gives_percent_saturation_noise_and_flags():
    path = real_fixture(*CGLS_DAY1)
    ds = cgls_ssm.open_ssm(path)
    ssm, noise = raw(path, "ssm")[0], raw(path, "ssm_noise")[0]
    assert ds.sizes == {"lat": 448, "lon": 448} and pd.Timestamp(ds["time"].values) == pd.Timestamp("2017-06-01")
    assert (ds.attrs["version"], ds.attrs["tile"]) == ("V1.1.1", "CEURO")
    valid = ssm <= 200
    np.testing.assert_array_equal(np.isfinite(ds["ssm"].values), valid)
    np.testing.assert_allclose(ds["ssm"].values[valid], ssm[valid] * 0.5)
    np.testing.assert_allclose(ds["ssm_noise"].values[noise <= 200], noise[noise <= 200] * 0.5)
    assert ds["ssm"].values[0, 316] == 47.0 and ds["ssm_noise"].values[0, 316] == 7.0  # raw 94 and 14
    assert int(valid.sum()) == 27563 and np.nanmax(ds["ssm"].values) <= 100.0
    flags = ds["ssm_flag"].values
    assert [int((flags == code).sum()) for code in (251, 252, 253, 255)] == [1173, 388, 1956, 169624]
    assert ds["ssm_flag"].attrs["flag_meanings"].split()[3] == "WaterMask"


def test_cgls_all_fill_day_reads_as_all_missing():
    ds = cgls_ssm.open_ssm(real_fixture(*CGLS_DAY2))
    assert pd.Timestamp(ds["time"].values) == pd.Timestamp("2017-06-02")
    assert np.isnan(ds["ssm"].values).all() and np.isnan(ds["ssm_noise"].values).all()
    assert (ds["ssm_flag"].values == 255).all()
    assert cgls_ssm.describe(real_fixture(*CGLS_DAY2))["valid_cells"] == 0


def test_cgls_extent_comes_from_the_coordinates_not_the_tile_attributes():
    path = real_fixture(*CGLS_DAY1)
    info = cgls_ssm.describe(path)
    assert info["extent"] == {"west": -1.0, "south": 41.0, "east": 3.0, "north": 45.0}
    with netCDF4.Dataset(path) as nc:
        assert (nc.geospatial_lon_min, nc.geospatial_lon_max) == (-11.0, 50.0)  # the whole CEURO tile
    assert info["variables"]["ssm"]["fill_value"] == 255 and info["variables"]["ssm"]["scale_factor"] == 0.5
    assert info["flagged_cells"] == {"WaterMask": 1173, "SensitivityMask": 388, "SlopeMask": 1956, "no_data": 169624}


def test_esacci_reader_gives_volumetric_values_masked_by_flag():
    path = real_fixture(*ESACCI)
    ds = esacci_sm.open_sm(path)
    sm, flag = raw(path, "sm")[0], raw(path, "flag")[0]
    assert ds.sizes == {"lat": 720, "lon": 1440} and pd.Timestamp(ds["time"].values) == pd.Timestamp("2010-07-01")
    valid = (sm != -9999.0) & (flag == 0)
    assert int(np.isfinite(ds["sm"].values).sum()) == int(valid.sum()) == 164073
    np.testing.assert_array_equal(ds["sm"].values[valid], sm[valid])
    assert ds["sm"].attrs["units"] == "m3 m-3" and ds["flag"].dtype == np.int8
    assert ds["flag"].attrs["no_data_value"] == 127 and "dense_vegetation" in ds["flag"].attrs["flag_meanings"]
    t0 = ds["t0"].values[np.isfinite(ds["sm"].values)]
    assert (t0 >= np.datetime64("2010-06-30T12:00")).all() and (t0 <= np.datetime64("2010-07-01T12:00")).all()


def test_esacci_mask_flagged_keeps_or_drops_flagged_values(tmp_path):
    """A crop of the real file with one valid cell flagged 'dense vegetation' (2)."""
    crop = tmp_path / "crop.nc"
    copy_window(real_fixture(*ESACCI), crop, slice(180, 200), slice(700, 740))
    sm = raw(crop, "sm")[0]
    i, j = np.argwhere(sm != -9999.0)[0]
    with netCDF4.Dataset(crop, "a") as nc:
        nc.set_auto_maskandscale(False)
        nc["flag"][0, i, j] = 2
    assert np.isnan(esacci_sm.open_sm(crop)["sm"].values[i, j])
    assert esacci_sm.open_sm(crop, mask_flagged=False)["sm"].values[i, j] == sm[i, j]


def test_esacci_describe():
    info = esacci_sm.describe(real_fixture(*ESACCI))
    assert (info["product"], info["version"], info["date"]) == ("ESA CCI SM COMBINED", "04.5", "2010-07-01")
    assert info["extent"] == {"west": -180.0, "south": -90.0, "east": 180.0, "north": 90.0}
    assert set(info["variables"]) == {"t0", "sm", "sm_uncertainty", "dnflag", "flag", "freqbandID", "mode", "sensor"}
    assert info["variables"]["sm"]["units"] == "m3 m-3" and info["variables"]["sm"]["fill_value"] == -9999.0
    assert info["variables"]["flag"]["fill_value"] == 127 and info["flag_counts"]["0"] == 165218


def test_readers_refuse_other_files_naming_them(tmp_path):
    with pytest.raises(ProductError, match="ESACCI.*not a CGLS SSM 1km file: parent_identifier is absent"):
        cgls_ssm.open_ssm(real_fixture(*ESACCI))
    with pytest.raises(ProductError, match=r"c_gls_SSM1km_2017060100.*not an ESA CCI soil moisture file"):
        esacci_sm.open_sm(real_fixture(*CGLS_DAY1))
    text = tmp_path / "page.nc"
    text.write_text("<html>maintenance</html>")
    with pytest.raises(ProductError, match=r"page.nc: not a NetCDF file \(it starts with b'<html>"):
        cgls_ssm.open_ssm(text)
    cut = tmp_path / "cut.nc"
    cut.write_bytes(real_fixture(*CGLS_DAY1).read_bytes()[:30000])
    with pytest.raises(ProductError, match="cut.nc: .*truncated or damaged"):
        cgls_ssm.open_ssm(cut)
    with pytest.raises(ProductError, match="neither CGLS SSM 1km .csm. nor ESA CCI SM COMBINED"):
        product_kind(real_fixture("smap", "SMAP_L2_SM_P_02801_A_20150811T013002_R18290_001.h5"))


def test_esacci_active_product_is_refused(tmp_path):
    crop = tmp_path / "active.nc"
    copy_window(real_fixture(*ESACCI), crop, slice(0, 4), slice(0, 4))
    with netCDF4.Dataset(crop, "a") as nc:
        nc.title = "ESA CCI Surface Soil Moisture ACTIVE Product"
        nc.id = "ESACCI-SOILMOISTURE-L3S-SSMS-ACTIVE-20100701000000-fv04.5.nc"
    with pytest.raises(ProductError, match="an ESA CCI SM ACTIVE file; only the COMBINED product"):
        esacci_sm.open_sm(crop)


def test_crop_keeps_the_product_layout(tmp_path):
    source = real_fixture(*CGLS_DAY1)
    crop = tmp_path / "crop.nc"
    copy_window(source, crop, slice(40, 50), slice(430, 445))
    with netCDF4.Dataset(source) as a, netCDF4.Dataset(crop) as b:
        assert b.data_model == a.data_model == "NETCDF4" and b.dimensions["time"].isunlimited()
        assert b.product_version == a.product_version and b.history.endswith(a.history)
        for name in a.variables:
            va, vb = a[name], b[name]
            assert vb.dtype == va.dtype and vb.dimensions == va.dimensions
            assert {k: str(va.getncattr(k)) for k in va.ncattrs()} == {k: str(vb.getncattr(k)) for k in vb.ncattrs()}
            assert vb.filters()["zlib"] == va.filters()["zlib"]
    np.testing.assert_array_equal(raw(crop, "ssm")[0], raw(source, "ssm")[0, 40:50, 430:445])
    np.testing.assert_array_equal(raw(crop, "lat"), raw(source, "lat")[40:50])
    assert cgls_ssm.describe(crop)["shape"] == {"lat": 10, "lon": 15}
    esa_crop = tmp_path / "esa.nc"
    copy_window(real_fixture(*ESACCI), esa_crop, slice(180, 200), slice(700, 740))
    with netCDF4.Dataset(esa_crop) as nc:
        assert nc.data_model == "NETCDF4_CLASSIC" and nc["sm"].filters()["complevel"] == 9


def test_cell_index_and_window_on_regular_grids():
    lat = np.array([44.875, 44.625, 44.375])  # descending, 0.25 degree cells
    assert latlon.cell_index(lat, [45.0 - 1e-9, 44.74, 44.5 - 1e-9, 44.2, 45.1], 0.25).tolist() == [0, 1, 2, -1, -1]
    lon = np.array([0.125, 0.375])
    assert latlon.cell_index(lon, [0.0, 0.26, 0.49, 0.51, -0.01], 0.25).tolist() == [0, 1, 1, -1, -1]
    assert latlon.cell_index(np.array([10.125]), [10.2, 10.3], 0.25, descending=True).tolist() == [0, -1]
    assert latlon.window(lon, 0.3, 0.6, 0.25) == slice(1, 2) and latlon.window(lon, 1.0, 2.0, 0.25) == slice(0, 0)
    assert latlon.extent(lat, lon, 0.25) == (0.0, 44.25, 0.5, 45.0)


def test_saturation_conversions():
    assert cosby_porosity(40.0, 20.0) == pytest.approx((50.5 - 0.142 * 40 - 0.037 * 20) / 100)  # 0.4408
    assert saturation_to_volumetric(50.0, "fraction") == pytest.approx(0.5)
    assert saturation_to_volumetric(50.0, "porosity", 40.0, 20.0) == pytest.approx(0.5 * 0.4408)
    with pytest.raises(ValueError, match="'porosity' conversion needs the sand and clay"):
        saturation_to_volumetric(50.0, "porosity")
    with pytest.raises(ValueError, match="unknown conversion 'linear'"):
        saturation_to_volumetric(50.0, "linear")


def test_sampling_csm_takes_the_cell_containing_each_probe():
    files = [real_fixture(*CGLS_DAY1), real_fixture(*CGLS_DAY2)]
    lat, lon = raw(files[0], "lat"), raw(files[0], "lon")
    ssm, noise = raw(files[0], "ssm")[0], raw(files[0], "ssm_noise")[0]
    cells = [(44, 438), (0, 316), (47, 440), (200, 5)]  # valid, valid, valid, no data
    points = pd.DataFrame(
        {
            "probe": ["p1", "p2", "p3", "p4", "far"],
            # a quarter cell off the centre: still inside the cell
            "lat": [lat[i] - 0.25 / 112 for i, _ in cells] + [50.0],
            "lon": [lon[j] + 0.25 / 112 for _, j in cells] + [1.0],
            "sand": [40.0, 60.0, 20.0, 30.0, 30.0],
            "clay": [20.0, 10.0, 35.0, 25.0, 25.0],
        }
    )
    table = sample_points(files, points, conversion="fraction")
    assert table["probe"].tolist() == ["p1", "p2", "p3"]  # p4 has no data, far lies outside, day 2 is all fill
    assert (table["time"] == pd.Timestamp("2017-06-01")).all()
    expected = [ssm[i, j] * 0.5 for i, j in cells[:3]]
    np.testing.assert_allclose(table["native"], expected)
    np.testing.assert_allclose(table["value"], np.array(expected) / 100)
    np.testing.assert_allclose(table["noise"], [noise[i, j] * 0.5 for i, j in cells[:3]])
    np.testing.assert_allclose(table["cell_lat"], [lat[i] for i, _ in cells[:3]])
    porosity = sample_points(files, points, conversion="porosity")
    theta_s = (50.5 - 0.142 * points["sand"][:3] - 0.037 * points["clay"][:3]) / 100
    np.testing.assert_allclose(porosity["value"], np.array(expected) / 100 * theta_s)
    assert table.attrs["native_units"] == "% saturation" and table.attrs["value_units"] == "m3 m-3"
    with pytest.raises(ValueError, match="choose the conversion 'fraction' or 'porosity'"):
        sample_points(files, points)
    with pytest.raises(ValueError, match="lacks column.s. clay, sand"):
        sample_points(files, points[["probe", "lat", "lon"]], conversion="porosity")


def test_sampling_ecv_shares_cells_between_close_probes():
    path = real_fixture(*ESACCI)
    sm, unc = raw(path, "sm")[0], raw(path, "sm_uncertainty")[0]
    # REMEDHUS (Spain, 41.3 N 5.4 W) and a second probe 5 km away in the same 0.25 degree cell
    i, j = int((90 - 41.3) // 0.25), int((180 - 5.4) // 0.25)
    assert sm[i, j] != -9999.0
    points = pd.DataFrame({"probe": ["a", "b", "ocean"], "lat": [41.3, 41.26, 40.0], "lon": [-5.4, -5.36, -30.0]})
    table = sample_points([path], points, conversion="fraction")  # ignored: ECV_SM is volumetric
    assert table["probe"].tolist() == ["a", "b"]
    np.testing.assert_allclose(table["value"], [sm[i, j]] * 2)
    np.testing.assert_allclose(table["noise"], [unc[i, j]] * 2)
    assert table["cell_lat"].tolist() == [41.375, 41.375] and table["cell_lon"].tolist() == [-5.375, -5.375]


def test_sampling_refuses_mixed_products(tmp_path):
    esa = tmp_path / "ecv.nc"
    shutil.copy(real_fixture(*ESACCI), esa)
    points = pd.DataFrame({"probe": ["a"], "lat": [44.0], "lon": [1.0]})
    with pytest.raises(ProductError, match=r"(ecv_sm|csm) file, while .* is (csm|ecv_sm): sample one product"):
        sample_points([real_fixture(*CGLS_DAY1), esa], points, conversion="fraction")
