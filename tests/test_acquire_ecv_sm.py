"""ECV_SM as a real source (provider `cdse`): the CEDA URLs of each day, and fetches cropped to each region from the
real global file of ../shared/fixtures/real served by the loopback server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from conftest import real_fixture
from loopback import serve
from soilsat.acquire.catalog import CATALOG_COLUMNS, item_filename
from soilsat.acquire.factory import get_provider
from soilsat.errors import ProductError
from soilsat.reference import esacci_sm
from test_acquire_csm import raw, settings

ESA_NAME = "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20100701000000-fv04.5.nc"


def test_ecv_sm_search_builds_the_ceda_urls(tmp_path):
    conf = settings("https://dap.ceda.ac.uk", tmp_path, ecv_sm={"version": "05.2"})
    provider = get_provider("cdse", {}, conf)
    catalog = provider.search("ecv_sm", ["causse", "gers"], dt.date(2016, 12, 31), dt.date(2017, 1, 1))
    assert list(catalog.columns) == CATALOG_COLUMNS
    assert catalog["name"].tolist() == [
        "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20161231000000-fv05.2_causse.nc",
        "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20161231000000-fv05.2_gers.nc",
        "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20170101000000-fv05.2_causse.nc",
        "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20170101000000-fv05.2_gers.nc",
    ]
    assert catalog["href"].iloc[2] == (
        "https://dap.ceda.ac.uk/neodc/esacci/soil_moisture/data/daily_files/COMBINED/"
        "v05.2/2017/ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20170101000000-fv05.2.nc"
    )
    assert set(catalog["processing_baseline"]) == {"05.2"}
    assert catalog["sensing_start"].iloc[0] == "2016-12-31T00:00:00Z"


def test_ecv_sm_fetch_crops_the_global_file(tmp_path):
    with serve() as server:
        path = f"/neodc/esacci/soil_moisture/data/daily_files/COMBINED/v04.5/2010/{ESA_NAME}"
        server.files[path] = real_fixture("esacci", ESA_NAME).read_bytes()
        remedhus = {"name": "remedhus", "lon": -5.4, "lat": 41.3, "size_m": 20000}
        conf = settings(server.url, tmp_path, regions=(remedhus,))
        provider = get_provider("cdse", {}, conf)
        catalog = provider.search("ecv_sm", ["remedhus"], dt.date(2010, 6, 30), dt.date(2010, 7, 1))
        day = catalog[catalog["sensing_start"].str.startswith("2010-07-01")].iloc[0].to_dict()
        provider.fetch(day, tmp_path / "ecv_sm" / item_filename(day))
        missing = catalog.iloc[0].to_dict()
        with pytest.raises(
            ProductError, match="no such file at CEDA: ESA CCI SM COMBINED v04.5 has no file for 2010-06-30"
        ):
            provider.fetch(missing, tmp_path / "ecv_sm" / item_filename(missing))
    crop = tmp_path / "ecv_sm" / "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20100701000000-fv04.5_remedhus.nc"
    info = esacci_sm.describe(crop)
    # 20 km plus the 500 m grid margin around 41.3 N 5.4 W reach 41.206..41.394 N, 5.526..5.274 W: 2 x 2 cells
    assert info["extent"] == {"west": -5.75, "south": 41.0, "east": -5.25, "north": 41.5}
    source = real_fixture("esacci", ESA_NAME)
    np.testing.assert_array_equal(raw(crop, "sm")[0], raw(source, "sm")[0, 194:196, 697:699])
    with netCDF4.Dataset(crop) as nc:
        assert nc.data_model == "NETCDF4_CLASSIC" and nc.product_version == "04.5"
        assert list(nc.variables) == [
            "lat",
            "lon",
            "time",
            "t0",
            "sm",
            "sm_uncertainty",
            "dnflag",
            "flag",
            "freqbandID",
            "mode",
            "sensor",
        ]
    assert not list(Path(conf["ecv_sm"]["cache_dir"]).iterdir())
