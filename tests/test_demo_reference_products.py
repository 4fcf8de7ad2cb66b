"""The demo world's CSM and ECV_SM files: the real products' layout, read back by the readers with the values
the truth and each product's documented character give."""

from __future__ import annotations

import datetime as dt
import hashlib

import netCDF4
import numpy as np
import pandas as pd
import pytest

from conftest import real_fixture
from soilsat.demo import reference_products as rp
from soilsat.demo.world import RegionSpec, RegionWorld, WorldSpec, make_world, sentinel1_schedule
from soilsat.reference import cgls_ssm, esacci_sm
from soilsat.reference.sampling import sample_points

SPEC = WorldSpec(
    regions=(RegionSpec("skjern", 8.95, 55.95, 3000, "humid"), RegionSpec("duero", -5.35, 41.3, 3000, "semiarid")),
    start=dt.date(2020, 1, 1),
    end=dt.date(2020, 3, 31),
    probes_per_region=3,
    lucas_samples=4,
)
REAL_CGLS = ("cgls", "c_gls_SSM1km_201706010000_CEURO_S1CSAR_V1.1.1.nc")
REAL_ESACCI = ("esacci", "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20100701000000-fv04.5.nc")


@pytest.fixture(scope="module")
def world() -> list[RegionWorld]:
    return make_world(SPEC)


@pytest.fixture(scope="module")
def archive(world, tmp_path_factory):
    """The written files: (folder, CSM entries, ECV_SM entries)."""
    folder = tmp_path_factory.mktemp("archive")
    csm = rp.write_csm(world, sentinel1_schedule(SPEC), folder, "V1.1.1", SPEC.seed)
    ecv = rp.write_ecv_sm(world, folder, "05.2", SPEC.seed)
    return folder, csm, ecv


def truth_cell_means(
    region: RegionWorld, lattice: tuple[float, float, float], lat: np.ndarray, lon: np.ndarray
) -> np.ndarray:
    """(day, lat, lon) means of the truth over the pixels whose centres fall in each cell (NaN: no pixel)."""
    west_edge, north_edge, cell = lattice
    plon, plat = region.grid.lonlat()
    row = np.floor((north_edge - plat) / cell).astype(int) - int(round((north_edge - lat[0]) / cell - 0.5))
    col = np.floor((plon - west_edge) / cell).astype(int) - int(round((lon[0] - west_edge) / cell - 0.5))
    sm = region.truth["sm"].values.reshape(region.truth.sizes["time"], -1)
    frame = pd.DataFrame(sm.T).assign(cell=(row * lon.size + col).ravel())
    means = frame.groupby("cell").mean().reindex(range(lat.size * lon.size))
    return means.to_numpy().T.reshape(-1, lat.size, lon.size)


def layout(path) -> dict:
    """What must agree with the real product: format, dimensions, and every variable's type, attributes, storage."""
    with netCDF4.Dataset(path) as nc:
        return {
            "format": nc.data_model,
            "dims": {n: d.isunlimited() for n, d in nc.dimensions.items()},
            "globals": sorted(nc.ncattrs()),
            "vars": {
                n: (
                    str(v.dtype),
                    v.dimensions,
                    {k: str(v.getncattr(k)) for k in v.ncattrs() if k not in ("valid_range",) or n != "t0"},
                    v.filters()["zlib"],
                    v.filters()["shuffle"],
                    v.filters()["complevel"],
                )
                for n, v in nc.variables.items()
            },
        }


def test_index_entries_name_the_files(archive):
    folder, csm, ecv = archive
    assert len(csm) == len(ecv) == 2 * 91
    entry = csm[0]
    assert set(entry) >= {"source", "name", "path", "region", "size", "md5"}
    assert (entry["source"], entry["region"], entry["path"]) == (
        "csm",
        "skjern",
        "csm/c_gls_SSM1km_202001010000_CEURO_S1CSAR_V1.1.1_skjern.nc",
    )
    assert entry["md5"] == hashlib.md5((folder / entry["path"]).read_bytes()).hexdigest()
    assert ecv[-1]["name"] == "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20200331000000-fv05.2_duero.nc"
    assert ecv[-1]["sensing_start"] == "2020-03-31T00:00:00Z"


def test_csm_files_have_the_layout_of_the_real_product(archive):
    folder, csm, _ = archive
    demo, real = layout(folder / csm[0]["path"]), layout(real_fixture(*REAL_CGLS))
    assert demo == real
    info = cgls_ssm.describe(folder / csm[0]["path"])
    assert (info["product"], info["version"], info["tile"], info["date"]) == (
        "CGLS SSM 1km",
        "V1.1.1",
        "CEURO",
        "2020-01-01",
    )
    assert (info["extent"]["west"] + 11) * 112 == pytest.approx(round((info["extent"]["west"] + 11) * 112))


def test_csm_has_values_only_on_pass_days_scaled_between_each_cells_extremes(world, archive):
    folder, csm, _ = archive
    passes = sentinel1_schedule(SPEC)
    for region in world:
        name = region.spec.name
        files = [folder / e["path"] for e in csm if e["region"] == name]
        data = [cgls_ssm.open_ssm(f) for f in files]
        pass_days = set(pd.to_datetime(passes.loc[passes["region"] == name, "date"]))
        on_pass = np.array([pd.Timestamp(ds["time"].values) in pass_days for ds in data])
        ssm = np.stack([ds["ssm"].values for ds in data])
        assert on_pass.sum() == len(pass_days) > 10
        assert np.isnan(ssm[~on_pass]).all() and all(
            (ds["ssm_flag"].values == 255).all() for ds, p in zip(data, on_pass) if not p
        )
        values = ssm[on_pass]
        land = np.isfinite(values).all(axis=0)
        assert land.sum() >= 20 and np.nanmin(values) >= 0 and np.nanmax(values) <= 100
        # the 10 % driest and wettest passes of each cell sit at the extremes
        assert (np.nanmin(values[:, land], axis=0) == 0).all() and (np.nanmax(values[:, land], axis=0) == 100).all()
        truth = truth_cell_means(region, rp.CGLS_LATTICE, data[0]["lat"].values, data[0]["lon"].values)[on_pass]
        r = np.corrcoef(truth[:, land].ravel(), values[:, land].ravel())[0, 1]
        assert 0.3 < r < 0.99  # the truth shows through, noisily
        flags = data[np.argmax(on_pass)]["ssm_flag"].values
        assert set(np.unique(flags)) <= {0, 251, 252, 255}


def test_ecv_files_have_the_layout_of_the_real_product(archive):
    folder, _, ecv = archive
    assert layout(folder / ecv[0]["path"]) | {"globals": []} == layout(real_fixture(*REAL_ESACCI)) | {"globals": []}
    with netCDF4.Dataset(folder / ecv[0]["path"]) as demo, netCDF4.Dataset(real_fixture(*REAL_ESACCI)) as real:
        assert demo.ncattrs() == real.ncattrs()
        assert demo.id == "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20200101000000-fv05.2.nc"
    info = esacci_sm.describe(folder / ecv[0]["path"])
    assert (info["version"], info["date"]) == ("05.2", "2020-01-01")
    assert (info["extent"]["west"] * 4, info["extent"]["north"] * 4) == (
        round(info["extent"]["west"] * 4),
        round(info["extent"]["north"] * 4),
    )


def test_ecv_is_the_truths_cell_mean_plus_the_bias_with_frozen_days_flagged(world, archive):
    folder, _, ecv = archive
    frozen_days = 0
    for region in world:
        files = [folder / e["path"] for e in ecv if e["region"] == region.spec.name]
        data = [esacci_sm.open_sm(f) for f in files]
        sm = np.stack([ds["sm"].values for ds in data])
        flag = np.stack([ds["flag"].values for ds in data])
        truth = truth_cell_means(region, rp.ESA_LATTICE, data[0]["lat"].values, data[0]["lon"].values)
        covered = np.isfinite(truth[0])
        assert (flag[:, ~covered] == 127).all() and covered.any()
        frozen = region.truth["tmean"].values < 0
        assert (flag[frozen][:, covered] == 1).all() and np.isnan(sm[frozen]).all()
        gaps = flag[~frozen][:, covered] == 4
        assert 0.02 < gaps.mean() < 0.25 and np.isnan(sm[~frozen][:, covered][gaps]).all()
        valid = np.isfinite(sm)
        assert ((flag == 0) == valid).all() and valid.sum() > 50
        error = sm[valid] - truth[valid]
        assert error.mean() == pytest.approx(rp.ECV_BIAS, abs=4 * rp.ECV_NOISE_SD / np.sqrt(valid.sum()) + 0.003)
        assert np.abs(error - rp.ECV_BIAS).max() < 5 * rp.ECV_NOISE_SD + 0.02  # noise plus the 3-day smoothing
        assert (np.stack([ds["sm_uncertainty"].values for ds in data])[valid] == np.float32(rp.ECV_NOISE_SD)).all()
        frozen_days += int(frozen.sum())
    assert frozen_days > 0  # the winter has frozen days, so the flag was exercised


def test_demo_files_sample_like_the_real_ones(world, archive):
    folder, csm, ecv = archive
    region = world[0]
    probes = region.probes[["probe", "lat", "lon"]]
    csm_table = sample_points([folder / e["path"] for e in csm if e["region"] == "skjern"], probes, "fraction")
    passes = sentinel1_schedule(SPEC)
    assert set(csm_table["time"]) <= set(pd.to_datetime(passes.loc[passes["region"] == "skjern", "date"]))
    np.testing.assert_allclose(csm_table["value"], csm_table["native"] / 100)
    ecv_table = sample_points([folder / e["path"] for e in ecv if e["region"] == "skjern"], probes)
    assert set(ecv_table["probe"]) == set(probes["probe"])
    assert (ecv_table.groupby("time")["value"].nunique() == 1).all()  # the probes share one 0.25 degree cell


def test_entries_serve_through_the_demo_provider(archive, tmp_path):
    """Indexed as the demo archive indexes its items, the files come back by source, region and name."""
    from soilsat.acquire.catalog import item_filename
    from soilsat.acquire.factory import get_provider
    from soilsat.demo.archive import INDEX_COLUMNS

    folder, csm, ecv = archive
    index = pd.DataFrame(csm + ecv)
    index["regions"] = index.pop("region")
    index.reindex(columns=INDEX_COLUMNS).to_csv(folder / "index.csv", index=False)
    provider = get_provider("demo", {"archive": str(folder)})
    catalog = provider.search("ecv_sm", ["duero"], SPEC.start, SPEC.end)
    assert len(catalog) == 91 and set(catalog["regions"]) == {"duero"}
    item = catalog.iloc[0].to_dict()
    provider.fetch(item, tmp_path / "ecv_sm" / item_filename(item))
    assert esacci_sm.describe(tmp_path / "ecv_sm" / item_filename(item))["date"] == "2020-01-01"
    assert len(provider.search("csm", ["skjern"], SPEC.start, SPEC.end)) == 91
