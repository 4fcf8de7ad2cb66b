"""The demo world's SMAP (HDF5) and MODIS (HDF4-EOS) files: the real products' layout, read back by the readers,
values traceable to the truth, and index entries for the archive."""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import DATA, real_fixture
from soilsat import cli
from soilsat.demo import modis as demo_modis
from soilsat.demo import smap as demo_smap
from soilsat.demo.backscatter import water_cloud
from soilsat.demo.world import RegionSpec, WorldSpec, make_world, sentinel1_schedule
from soilsat.nasa import ease2, mcd12q2, mod09ga, modis_grid, smap_l1c, smap_l2, smap_l2sp, smap_l3

DAP = "{http://xml.opendap.org/ns/DAP/4.0#}"
DAP_TYPES = {"Float32": "float32", "Float64": "float64", "UInt16": "uint16", "Byte": "uint8", "Int16": "int16"}
ENTRY_KEYS = {"source", "name", "path", "region", "size", "md5", "product_type", "sensing_start", "sensing_stop"}


@pytest.fixture(scope="module")
def world():
    spec = WorldSpec(
        regions=(RegionSpec("skjern", 8.95, 55.95, 1500, "humid"), RegionSpec("duero", -5.35, 41.3, 1500, "semiarid")),
        start=dt.date(2020, 4, 1),
        end=dt.date(2020, 4, 9),
        margin_m=250,
        s1_repeat_days=6,
    )
    return spec, make_world(spec)


@pytest.fixture(scope="module")
def archive(world, tmp_path_factory):
    spec, regions = world
    root = tmp_path_factory.mktemp("archive")
    entries = demo_smap.write_products(regions, spec, root, spec.seed)
    entries += demo_modis.write_mcd12q2(regions, [2019], root, spec.seed)
    entries += demo_modis.write_mod09ga(regions, list(pd.date_range("2019-07-01", periods=3)), root, spec.seed, 0.3)
    return root, pd.DataFrame(entries)


def dmr_layout(path: Path) -> dict[str, tuple[str, object]]:
    """'/group/name' -> (dtype, _FillValue text) of every variable of a real granule's DMR."""
    out = {}
    for group in ET.parse(path).getroot().iter(f"{DAP}Group"):
        for var in group:
            kind = var.tag.removeprefix(DAP)
            if kind in DAP_TYPES:
                fill = next(
                    (
                        a.find(f"{DAP}Value").text
                        for a in var.findall(f"{DAP}Attribute")
                        if a.get("name") == "_FillValue"
                    ),
                    None,
                )
                out[f"/{group.get('name')}/{var.get('name')}"] = (DAP_TYPES[kind], fill)
    return out


def h5_layout(path: Path, groups: tuple[str, ...]) -> dict[str, tuple[str, object]]:
    out = {}
    with h5py.File(path) as f:
        for g in groups:
            for name, ds in f[g].items():
                fill = ds.attrs.get("_FillValue")
                out[f"/{g}/{name}"] = (str(ds.dtype), None if fill is None else np.asarray(fill).item())
    return out


def test_index_entries_describe_the_files(archive):
    root, index = archive
    assert set(index.columns) == ENTRY_KEYS
    assert set(index["source"]) == {"smap_l1c_tb", "smap_l2_sm", "smap_l3_sm", "smap_l2_sm_sp", "mcd12q2", "mod09ga"}
    # 9 days x 2 regions of L3; 2 of 3 days with each pass (L1C and L2 alike); Sentinel-1 days that meet a SMAP pass
    assert index.groupby("source").size().to_dict() == {
        "mcd12q2": 2,
        "mod09ga": 6,
        "smap_l1c_tb": 24,
        "smap_l2_sm": 24,
        "smap_l2_sm_sp": 6,
        "smap_l3_sm": 18,
    }
    for row in index.itertuples():
        data = (root / row.path).read_bytes()
        assert row.size == len(data) and row.md5 == hashlib.md5(data).hexdigest() and row.name == Path(row.path).name
    first = index[index["source"] == "smap_l3_sm"].iloc[0]
    assert (first["name"], first["region"], first["product_type"], first["sensing_start"], first["sensing_stop"]) == (
        "SMAP_L3_SM_P_E_20200401_R19240_001_skjern.h5",
        "skjern",
        "SPL3SMP_E",
        "2020-04-01T00:00:00Z",
        "2020-04-01T23:59:59Z",
    )


def test_spl2smap_s_has_the_real_products_layout(archive):
    root, index = archive
    path = root / index[index["source"] == "smap_l2_sm_sp"]["path"].iloc[0]
    real = dmr_layout(DATA / "harmony-opendap-subsetter" / "SC_SPL2SMAP_S.dmr")
    ours = h5_layout(path, ("Soil_Moisture_Retrieval_Data_1km", "Soil_Moisture_Retrieval_Data_3km"))
    assert len(ours) == 48 and set(ours) <= set(real)
    for name, (dtype, fill) in ours.items():
        assert dtype == real[name][0], name
        assert (fill is None) == (real[name][1] is None) and (fill is None or float(fill) == float(real[name][1])), name


def test_spl3smp_e_has_the_real_products_layout(archive):
    root, index = archive
    path = root / index[index["source"] == "smap_l3_sm"]["path"].iloc[0]
    real = dmr_layout(DATA / "harmony-opendap-subsetter" / "SC_SPL3SMP_008.dmr")
    ours = h5_layout(path, ("Soil_Moisture_Retrieval_Data_AM", "Soil_Moisture_Retrieval_Data_PM"))
    assert len(ours) == 20 and set(ours) <= set(real)
    for name, (dtype, fill) in ours.items():
        assert dtype == real[name][0] and (fill is None) == (real[name][1] is None), name


def test_spl2smp_e_has_the_real_products_layout(archive):
    """The demo SPL2SMP_E lists its cells as the real L2 radiometer half-orbit does (a real SPL2SMP granule: the
    enhanced product has the same group on the 9 km grid)."""
    root, index = archive
    path = root / index[index["source"] == "smap_l2_sm"]["path"].iloc[0]
    real = h5_layout(
        real_fixture("smap", "SMAP_L2_SM_P_02801_A_20150811T013002_R18290_001.h5"), ("Soil_Moisture_Retrieval_Data",)
    )
    ours = h5_layout(path, ("Soil_Moisture_Retrieval_Data",))
    assert len(ours) == 10 and set(ours) <= set(real)
    for name, (dtype, fill) in ours.items():
        assert dtype == real[name][0] and (fill is None) == (real[name][1] is None), name


def test_spl2smp_e_reads_back_to_the_truth(world, archive):
    spec, regions = world
    root, index = archive
    row = index[(index["source"] == "smap_l2_sm") & (index["region"] == "skjern")].iloc[0]
    day = pd.Timestamp(row["sensing_start"][:10])
    layout, truth = _truth_cells(regions[0], day, "M09")
    l2 = smap_l2.read_sm(root / row["path"])
    assert l2.attrs["short_name"] == "SPL2SMP_E" and l2.attrs["grid"] == "M09" and l2.attrs["overpass"] == "AM"
    rows, cols = layout.rows_cols()
    has = np.isfinite(truth["sm"])
    assert list(zip(l2["row"].values, l2["col"].values)) == list(zip(rows[has], cols[has]))
    error = l2["soil_moisture"].values - truth["sm"][has]
    assert np.all(np.abs(error - demo_smap.RETRIEVAL_BIAS) < 5 * demo_smap.RETRIEVAL_SD)
    assert bool(l2["recommended"].all()) and (l2["time"].values == l2["time"].values[0]).all()
    described = cli.inspect(root / row["path"])
    assert (described["kind"], described["product"], described["version"], described["overpass"]) == (
        "smap_l2_sm",
        "SPL2SMP_E",
        "006",
        "AM",
    )


def test_half_orbits_on_the_sentinel1_days_only_pair_each_acquisition(world, tmp_path):
    """What the demo archive writes for Tsagkatakis: the pass of each Sentinel-1 acquisition, cells averaged over
    pixels 50 m apart."""
    spec, regions = world
    entries = pd.DataFrame(
        demo_smap.write_products(
            regions, spec, tmp_path, spec.seed, ("SPL1CTB_E", "SPL2SMP_E"), sentinel1_days_only=True, sample_m=50
        )
    )
    schedule = sentinel1_schedule(spec)
    for region_index, region in enumerate(regions):
        mine = entries[entries["region"] == region.spec.name]
        days = pd.DatetimeIndex(region.truth["time"].values)
        expected = set()
        for row in schedule[schedule["region"] == region.spec.name].itertuples():
            overpass = "AM" if row.direction == "DESCENDING" else "PM"
            if pd.Timestamp(row.date) in set(demo_smap.pass_days(days, overpass, region_index)):
                expected.add((pd.Timestamp(row.date), overpass))
        for source in ("smap_l1c_tb", "smap_l2_sm"):
            # names end in _<UTC pass time>_R19240_001_<region>.h5; these regions pass before midnight UTC
            got = {
                (pd.Timestamp(name.split("_")[-4][:8]), "AM" if "_D_" in name else "PM")
                for name in mine[mine["source"] == source]["name"]
            }
            assert got == expected, source
    assert demo_smap.sample_stride(regions[0], 50) == 5 and demo_smap.sample_stride(regions[0], None) == 1


def _truth_cells(region, day, grid_name):
    layout = demo_smap.cell_layout(region, ease2.GRIDS[grid_name])
    return layout, demo_smap.cell_fields(demo_smap.pixel_fields(region, day, radar=True), layout)


def test_smap_files_read_back_to_the_truth(world, archive):
    spec, regions = world
    root, index = archive
    region, day = regions[0], pd.Timestamp("2020-04-01")
    layout, truth = _truth_cells(region, day, "M09")
    mine = index[index["region"] == "skjern"]
    l3 = smap_l3.read_sm(root / mine[mine["source"] == "smap_l3_sm"]["path"].iloc[0])
    rows, cols = layout.rows_cols()
    assert list(l3["row"].values) == sorted(set(rows)) and list(l3["col"].values) == sorted(set(cols))
    error = l3["soil_moisture"].values.ravel() - truth["sm"]
    assert np.all(np.abs(error - demo_smap.RETRIEVAL_BIAS) < 5 * demo_smap.RETRIEVAL_SD)
    assert bool(l3["recommended"].all()) and l3.attrs["overpass"] == "AM"
    passes = demo_smap.pass_days(pd.DatetimeIndex([day]), "AM", 0)
    assert list(passes) == [day]
    l1c_rows = index[(index["source"] == "smap_l1c_tb") & (index["region"] == "skjern")]
    tb = smap_l1c.read_tb(root / l1c_rows["path"].iloc[0])
    assert tb.attrs["overpass"] == "AM" and tb.sizes["cell"] == int(np.isfinite(truth["sm"]).sum())
    tb_error = smap_l1c.brightness_temperature(tb, "h").values - truth["tb_h"]
    assert np.all(np.abs(tb_error) < 5 * demo_smap.RADIOMETER_NOISE_K)
    on_grid = smap_l1c.to_study_grid(tb["tb_v_fore"], "M09", region.grid)
    lon, lat = region.grid.lonlat()
    cell_row, cell_col = ease2.lonlat_to_rowcol(ease2.GRIDS["M09"], lon, lat)
    lookup = {(int(r), int(c)): v for r, c, v in zip(tb["row"].values, tb["col"].values, tb["tb_v_fore"].values)}
    assert np.allclose(on_grid, np.vectorize(lambda r, c: lookup[(r, c)])(cell_row, cell_col).astype(np.float32))


def test_spl2smap_s_carries_the_sentinel1_sigma0(world, archive):
    spec, regions = world
    root, index = archive
    row = index[(index["source"] == "smap_l2_sm_sp") & (index["region"] == "skjern")].iloc[0]
    day = pd.Timestamp(row["sensing_start"][:10])
    sp = smap_l2sp.read_sm(root / row["path"], km=1, overpass="AM" if "T05" in row["name"][39:60] else "PM")
    layout, truth = _truth_cells(regions[0], day, "M01")
    assert sp.attrs["grid"] == "M01" and sp.sizes["y"] * sp.sizes["x"] == layout.size
    assert np.allclose(sp["sigma0_vv_aggregated"].values.ravel(), truth["sigma0_vv"].astype(np.float32), rtol=1e-6)
    assert np.allclose(sp["sigma0_incidence_angle"].values, demo_smap.SIGMA0_INCIDENCE_DEG)
    single = water_cloud(np.array(0.2), np.array(0.5), np.array(39.0), "VV")
    assert 0.0 < float(single) < 1.0  # the aggregated sigma0 is linear, as the product stores it
    described = cli.inspect(root / row["path"])
    assert described["kind"] == "smap_l2_sm_sp" and described["product"] == "SPL2SMAP_S"
    assert set(described["grid"]) == {"1km", "3km"} and described["version"] == "003"


def test_mcd12q2_reads_back_the_years_phenology(world, archive):
    spec, regions = world
    root, index = archive
    region = regions[1]
    path = root / index[(index["source"] == "mcd12q2") & (index["region"] == "duero")]["path"].iloc[0]
    ph = mcd12q2.read_phenology(path)
    layout = demo_modis.modis_layout(region, 2400)
    weights = demo_modis.parcel_weights(region, layout)
    days, cover = demo_modis.yearly_cover(region, 2019, spec.seed, weights)
    expected = demo_modis.phenology_metrics(days, demo_modis.EVI2_SOIL + demo_modis.EVI2_GAIN * cover)
    has = weights.sum(axis=1) > 0
    peak = ph["peak"].values.ravel()
    assert np.array_equal(np.isfinite(peak), has & np.isfinite(expected["Peak"]))
    assert np.allclose(
        peak[np.isfinite(peak)],
        (expected["Peak"] - (pd.Timestamp("2019-01-01") - mcd12q2.EPOCH).days + 1)[np.isfinite(peak)],
    )
    valid = np.isfinite(ph["greenup"].values)
    order = [
        ph[k].values[valid]
        for k in ("greenup", "mid-greenup", "maturity", "peak", "senescence", "mid-greendown", "dormancy")
    ]
    assert all(np.all(a <= b) for a, b in zip(order, order[1:]))
    assert np.allclose(
        ph["evi-amplitude"].values[valid],
        np.round(expected["EVI_Amplitude"].reshape(ph["peak"].shape)[valid] * 1e4) * 1e-4,
    )
    assert set(np.unique(ph["num-cycles"].values[np.isfinite(ph["num-cycles"].values)])) <= {0.0, 1.0}
    assert ph.attrs["year"] == 2019 and ph.attrs["tile"] == "h17v04"
    on_grid = modis_grid.to_study_grid(ph["peak"], region.grid).ravel()
    expected_grid = ph["peak"].values.ravel()[layout.labels].astype(np.float32)
    same = (on_grid == expected_grid) | (np.isnan(on_grid) & np.isnan(expected_grid))
    assert same.mean() > 0.999  # a pixel centre on a cell edge may round either way


def test_mod09ga_cloud_mask_evi_and_yearly_mean(archive):
    root, index = archive
    paths = [root / p for p in index[(index["source"] == "mod09ga") & (index["region"] == "skjern")]["path"]]
    days = [mod09ga.read_reflectance(p) for p in paths]
    first = days[0]
    clear = first["cloud_free"].values
    assert 0 < clear.mean() < 1
    index_values = mod09ga.evi(first["red"].values, first["nir"].values, first["blue"].values)
    assert np.allclose(first["evi"].values[clear], index_values[clear], equal_nan=True)
    assert np.isnan(first["evi"].values[~clear]).all() and np.isfinite(first["evi"].values[clear]).mean() > 0.5
    states = {demo_modis.LAND_FLAG, demo_modis.LAND_FLAG | demo_modis.CLOUDY_STATE}
    assert set(np.unique(first["state_1km"].values)) <= states
    yearly = mod09ga.yearly_mean_evi(paths)
    stack = np.stack([d["evi"].values for d in days])
    assert np.array_equal(yearly["days"].values, np.isfinite(stack).sum(axis=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels cloudy on every day: a mean of nothing
        expected = np.nanmean(stack, axis=0)
    assert np.allclose(yearly["evi-mean"].values, expected, equal_nan=True)
    assert 0.3 < np.nanmean(yearly["evi-mean"].values) < 0.8  # July
    assert mod09ga.cloud_free(np.array([0, 1, 2, 3, 4, 1 << 10, 8])).tolist() == [
        True,
        False,
        False,
        False,
        False,
        False,
        True,
    ]


def test_demo_hdfeos_files_are_built_like_the_real_tile(archive):
    """GRID vgroup named after the grid, holding 'Data Fields' with every field's SDS, as HDF-EOS writes them."""
    import pyhdf.V  # noqa: F401
    from pyhdf.HDF import HC, HDF

    def grid_vgroups(path: Path) -> dict[str, tuple[str, int]]:
        hdf = HDF(str(path), HC.READ)
        v = hdf.vgstart()
        found, ref = {}, -1
        while True:
            try:
                ref = v.getid(ref)
            except Exception:  # pyhdf ends the listing with an HDF4Error
                break
            vg = v.attach(ref)
            if vg._class == "GRID":
                members = [v.attach(r) for t, r in vg.tagrefs() if t == HC.DFTAG_VG]
                fields = next(m for m in members if m._name == "Data Fields")
                found[vg._name] = (fields._class, len(fields.tagrefs()))
                for m in members:
                    m.detach()
            vg.detach()
        v.end()
        hdf.close()
        return found

    root, index = archive
    assert grid_vgroups(real_fixture("modis", "MOD13A2.A2025001.h18v09.061.2025022080611.hdf")) == {
        "MODIS_Grid_16DAY_1km_VI": ("GRID Vgroup", 12)
    }
    mod09 = root / index[index["source"] == "mod09ga"]["path"].iloc[0]
    assert grid_vgroups(mod09) == {"MODIS_Grid_1km_2D": ("GRID Vgroup", 1), "MODIS_Grid_500m_2D": ("GRID Vgroup", 3)}
    mcd = root / index[index["source"] == "mcd12q2"]["path"].iloc[0]
    assert grid_vgroups(mcd) == {"MCD12Q2": ("GRID Vgroup", 13)}
    summary = cli.inspect(mcd)
    assert (summary["kind"], summary["product"], summary["version"], summary["period"]) == (
        "mcd12q2",
        "MCD12Q2",
        "61",
        ["2019-01-01", "2019-12-31"],
    )
    assert summary["variables"]["Greenup"] == {
        "dtype": "int16",
        "shape": [2, 6, 6],
        "fill_value": 32767,
        "scale_factor": None,
        "units": "days since 1-1-1970",
    }


def test_inspect_describes_each_demo_smap_product(archive):
    root, index = archive
    first = {
        source: root / index[index["source"] == source]["path"].iloc[0]
        for source in ("smap_l1c_tb", "smap_l3_sm", "mod09ga")
    }
    l1c = cli.inspect(first["smap_l1c_tb"])
    assert (l1c["kind"], l1c["product"], l1c["version"], l1c["crid"], l1c["overpass"]) == (
        "smap_l1c_tb",
        "SPL1CTB_E",
        "006",
        "R19240",
        "AM",
    )
    assert l1c["grid"] == {"name": "EASE-Grid 2.0 global M09", "cells": 2, "rows": [137, 137], "columns": [2023, 2024]}
    assert l1c["variables"]["Global_Projection/cell_tb_h_fore"] == {
        "dtype": "float32",
        "shape": [2],
        "fill_value": -9999.0,
        "units": "Kelvin",
    }
    l3 = cli.inspect(first["smap_l3_sm"])
    assert (l3["kind"], l3["product"], l3["date"]) == ("smap_l3_sm", "SPL3SMP_E", "2020-04-01")
    assert l3["grid"] == {
        "name": "EASE-Grid 2.0 global M09",
        "AM": {"rows": [137, 137], "columns": [2023, 2024]},
        "PM": {"rows": [137, 137], "columns": [2023, 2024]},
    }
    assert l3["variables"]["Soil_Moisture_Retrieval_Data_PM/soil_moisture_pm"]["fill_value"] == -9999.0
    mod09 = cli.inspect(first["mod09ga"])
    assert (mod09["kind"], mod09["product"], mod09["date"]) == ("mod09ga", "MOD09GA", "2019-07-01")
    assert mod09["variables"]["sur_refl_b01_1"]["fill_value"] == -28672
    assert mod09["variables"]["sur_refl_b01_1"]["scale_factor"] == pytest.approx(1e-4)
