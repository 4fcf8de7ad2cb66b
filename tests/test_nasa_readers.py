"""The SMAP and MODIS readers on real files: EASE-Grid 2.0 and sinusoidal placement, fill values, flags, metadata."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from conftest import real_fixture
from soilsat import cli
from soilsat.errors import ProductError
from soilsat.grid import region_grid
from soilsat.nasa import ease2, hdfeos, kinds, mcd12q2, modis_grid, sinusoidal, smap_l2, smap_l3, smap_window
from soilsat.nasa.h5file import open_h5
from soilsat.nasa.smap_flags import flag_bits, recommended

L2 = ("smap", "SMAP_L2_SM_P_02801_A_20150811T013002_R18290_001.h5")
L3_PREFETCH = ("smap", "SC_SPL3SMP_009_prefetch.nc4")
MOD13A2 = ("modis", "MOD13A2.A2025001.h18v09.061.2025022080611.hdf")
EVI_FIELD = "1 km 16 days EVI"


def test_ease2_rows_and_columns_match_the_l2_product():
    with h5py.File(real_fixture(*L2)) as f:
        g = f["Soil_Moisture_Retrieval_Data"]
        lat, lon = g["latitude"][:], g["longitude"][:]
        rows, cols = g["EASE_row_index"][:], g["EASE_column_index"][:]
    got_rows, got_cols = ease2.lonlat_to_rowcol(ease2.GRIDS["M36"], lon, lat)
    assert len(rows) == 17251 and np.array_equal(got_rows, rows) and np.array_equal(got_cols, cols)
    centre_lon, centre_lat = ease2.rowcol_to_lonlat(ease2.GRIDS["M36"], rows, cols)
    assert np.abs(centre_lat - lat).max() < 1e-3
    assert np.abs((centre_lon - lon + 180) % 360 - 180).max() < 1e-3


@pytest.mark.parametrize(
    "group, suffix", [("Soil_Moisture_Retrieval_Data_AM", ""), ("Soil_Moisture_Retrieval_Data_PM", "_pm")]
)
def test_every_l3_cell_lies_at_its_array_index(group, suffix):
    path = real_fixture(*L3_PREFETCH)
    with open_h5(path) as f:
        g = f[group]
        lat, lon = g[f"latitude{suffix}"][:], g[f"longitude{suffix}"][:]
        names = (f"latitude{suffix}", f"longitude{suffix}", f"EASE_row_index{suffix}", f"EASE_column_index{suffix}")
        assert smap_window.locate(g, names, ease2.GRIDS["M36"], path) == (0, 0)
    assert lat.shape == (406, 964)
    filled = lat != -9999.0
    rows, cols = ease2.lonlat_to_rowcol(ease2.GRIDS["M36"], lon[filled], lat[filled])
    expected_rows, expected_cols = np.nonzero(filled)
    assert filled.sum() == {"": 202934, "_pm": 210007}[suffix]
    assert np.array_equal(rows, expected_rows) and np.array_equal(cols, expected_cols)


def test_l2_reader_on_the_real_half_orbit():
    path = real_fixture(*L2)
    ds = smap_l2.read_sm(path)
    assert ds.attrs == {
        "short_name": "SPL2SMP",
        "version": "008",
        "crid": "R18290",
        "overpass": "PM",
        "grid": "M36",
        "start": "2015-08-11 01:30:02.239000",
        "end": "2015-08-11 02:23:23.652000",
    }
    sm = ds["soil_moisture"].values
    # -9999 fill and values outside valid_min/valid_max (0.02..0.5) are missing, as the product defines them
    assert ds.sizes["cell"] == 17251 and np.isfinite(sm).sum() == 1152
    assert np.nanmin(sm) >= 0.02 and np.nanmax(sm) <= 0.5 and round(float(np.nanmean(sm)), 4) == 0.2348
    assert int(ds["recommended"].sum()) == 592 and bool(np.isfinite(sm[ds["recommended"].values]).all())
    assert str(ds["time"].values[0]) == "2015-08-11T02:21:22.473463168"  # tb_time_utc says 02:21:22.474Z
    with h5py.File(path) as f:
        flag = f["Soil_Moisture_Retrieval_Data/retrieval_qual_flag"]
        assert flag_bits(flag, path) == {
            "Soil_moisture_retrieval_recommended": 1,
            "Soil_moisture_retrieval_attempted": 2,
            "Soil_moisture_retrieval_success": 4,
            "FT_retrieval_success": 8,
        }
    assert recommended(np.array([0, 1, 2, 65534], dtype=np.uint16), 65534).tolist() == [True, False, True, False]


def test_l2_values_on_a_study_grid_are_their_cells():
    ds = smap_l2.read_sm(real_fixture(*L2))
    cell = int(np.flatnonzero(np.isfinite(ds["soil_moisture"].values))[0])
    lon, lat = float(ds["lon"][cell]), float(ds["lat"][cell])
    study = region_grid("cell", lon, lat, 2000, 0, resolution=100)
    values = smap_l2.to_study_grid(ds["soil_moisture"], "M36", study)
    assert values.shape == (20, 20) and np.allclose(values, np.float32(ds["soil_moisture"].values[cell]))


def test_describe_and_inspect_the_real_files(capsys):
    summary = cli.inspect(real_fixture(*L2))
    assert {k: summary[k] for k in ("kind", "product", "version", "crid", "overpass", "start", "end", "grid")} == {
        "kind": "smap_l2_sm",
        "product": "SPL2SMP",
        "version": "008",
        "crid": "R18290",
        "overpass": "PM",
        "start": "2015-08-11 01:30:02.239000",
        "end": "2015-08-11 02:23:23.652000",
        "grid": {"name": "EASE-Grid 2.0 global M36", "cells": 17251, "rows": [0, 405], "columns": [0, 963]},
    }
    assert summary["variables"]["Soil_Moisture_Retrieval_Data/soil_moisture"] == {
        "dtype": "float32",
        "shape": [17251],
        "fill_value": -9999.0,
        "units": "cm**3/cm**3",
    }
    assert summary["variables"]["Soil_Moisture_Retrieval_Data/retrieval_qual_flag"]["fill_value"] == 65534
    assert cli.main(["inspect", str(real_fixture(*MOD13A2))]) == 0
    modis = json.loads(capsys.readouterr().out)
    assert {k: modis[k] for k in ("kind", "product", "version", "date", "period")} == {
        "kind": "modis",
        "product": "MOD13A2",
        "version": "61",
        "date": "2025-01-01",
        "period": ["2025-01-01", "2025-01-16"],
    }
    assert modis["grid"] == {
        "MODIS_Grid_16DAY_1km_VI": {
            "projection": "MODIS sinusoidal",
            "tile": "h18v09",
            "pixels": [1200, 1200],
            "upper_left_m": [0.0, 0.0],
            "lower_right_m": [1111950.519667, -1111950.519667],
        }
    }
    assert modis["variables"][EVI_FIELD] == {
        "dtype": "int16",
        "shape": [1200, 1200],
        "fill_value": -3000,
        "scale_factor": 10000.0,
        "units": "EVI",
    }
    assert kinds.product_kind(real_fixture(*L3_PREFETCH)) is None  # no SMAP metadata: not taken for a product


def test_hdfeos_grid_and_metadata_of_the_real_tile():
    path = real_fixture(*MOD13A2)
    sd = hdfeos.open_hdf4(path)
    try:
        grid = hdfeos.grids(sd, path)["MODIS_Grid_16DAY_1km_VI"]
        assert (grid.xdim, grid.ydim, grid.projection) == (1200, 1200, "GCTP_SNSOID")
        assert grid.proj_params[0] == sinusoidal.SPHERE_RADIUS and len(grid.fields) == 12
        assert grid.fields[EVI_FIELD] == ("YDim", "XDim")
        assert hdfeos.core_value(sd, "SHORTNAME", path) == "MOD13A2"
        assert hdfeos.core_value(sd, "RANGEENDINGDATE", path) == "2025-01-16"
        raw, attrs = hdfeos.read_field(sd, EVI_FIELD, path)
    finally:
        sd.end()
    left, bottom, right, top = sinusoidal.tile_bounds(*sinusoidal.parse_tile(path.name))
    assert grid.upper_left == (left, top) and abs(grid.lower_right[0] - right) < 1e-3
    assert abs(grid.transform.a - sinusoidal.TILE_M / 1200) < 1e-6
    evi = hdfeos.physical(raw, attrs)  # scale_factor 10000 divides (MOD13), fill -3000 is missing
    assert int((raw == -3000).sum()) == int(np.isnan(evi).sum()) == 1411157
    assert np.nanmax(evi) == pytest.approx(0.6858) and np.nanmin(evi) == pytest.approx(-0.0265)
    assert hdfeos.scale_of({"scale_factor": 10000.0}) == 1e-4 and hdfeos.scale_of({"scale_factor": 1e-4}) == 1e-4


def test_modis_field_onto_a_study_grid_takes_the_pixel_of_each_centre():
    path = real_fixture(*MOD13A2)
    sd = hdfeos.open_hdf4(path)
    try:
        grid = hdfeos.grids(sd, path)["MODIS_Grid_16DAY_1km_VI"]
        raw, attrs = hdfeos.read_field(sd, EVI_FIELD, path)
    finally:
        sd.end()
    import xarray as xr

    evi = xr.DataArray(hdfeos.physical(raw, attrs), dims=("y", "x"), attrs=modis_grid.grid_attrs(grid))
    study = region_grid("gabon", 9.6, -0.9, 4000, 0, resolution=200)
    values = modis_grid.to_study_grid(evi, study)
    lon, lat = study.lonlat()
    x, y = sinusoidal.lonlat_to_xy(lon, lat)
    expected = evi.values[np.floor(-y / grid.transform.a).astype(int), np.floor(x / grid.transform.a).astype(int)]
    assert np.isfinite(expected).mean() > 0.5
    assert np.allclose(values, expected.astype(np.float32), equal_nan=True)


def test_bad_files_are_clear_errors(tmp_path):
    text = tmp_path / "not.h5"
    text.write_text("hello")
    with pytest.raises(ProductError) as err:
        smap_l3.read_sm(text)
    assert str(err.value) == f"{text}: not an HDF5 file (it starts with b'hello')"
    cut = tmp_path / "cut.h5"
    cut.write_bytes(real_fixture(*L2).read_bytes()[:4000])
    with pytest.raises(ProductError, match=r"^.*cut\.h5: unreadable HDF5 file, truncated or damaged"):
        smap_l2.read_sm(cut)
    with pytest.raises(ProductError) as err:
        smap_l3.read_sm(real_fixture(*L2))
    assert str(err.value) == (
        f"{real_fixture(*L2)}: a SPL2SMP file, not SMAP L3 radiometer soil moisture (SPL3SMP_E or SPL3SMP)"
    )
    with pytest.raises(ProductError) as err:
        mcd12q2.read_phenology(real_fixture(*MOD13A2))
    assert str(err.value) == f"{real_fixture(*MOD13A2)}: a MOD13A2 file, not MCD12Q2"
    cut_hdf = tmp_path / "cut.hdf"
    cut_hdf.write_bytes(real_fixture(*MOD13A2).read_bytes()[:3000])
    with pytest.raises(ProductError, match=r"cut\.hdf: unreadable HDF4 file, truncated or damaged"):
        mcd12q2.read_phenology(cut_hdf)
    copy = shutil.copy(real_fixture(*L2), tmp_path / "l2.h5")
    with h5py.File(copy, "a") as f:
        del f["Metadata/Extent"]
    with pytest.raises(ProductError) as err:
        smap_l2.read_sm(copy)
    assert str(err.value) == f"{copy}: /Metadata/Extent has no rangeBeginningDateTime"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.h5", "cut.hdf", "l2.h5", "not.h5"]
