"""The OData filters of the CDSE catalogue."""

from __future__ import annotations

import datetime as dt

import pytest

from soilsat.acquire.aoi import aoi_polygon
from soilsat.acquire.odata import odata_filter
from soilsat.errors import ConfigError


def test_filter_names_aoi_type_orbit_and_clouds():
    ring = aoi_polygon(9.0, 56.0, 5000)
    f = odata_filter(
        "IW_GRDH_1S",
        dt.datetime(2020, 1, 1),
        dt.datetime(2020, 2, 1),
        ring=ring,
        orbit_direction="descending",
        relative_orbits=[44, 117],
        cloud_cover_max=20,
    )
    assert "Collection/Name eq 'SENTINEL-1'" in f and "Value eq 'IW_GRDH_1S'" in f
    assert "OData.CSC.Intersects(area=geography'SRID=4326;POLYGON((" in f
    assert "Value eq 'DESCENDING'" in f and "Value eq 44) or" in f and "cloudCover" not in f
    assert "ContentDate/Start ge 2020-01-01T00:00:00.000Z" in f and "ContentDate/Start lt 2020-02-01T00:00:00.000Z" in f
    s2 = odata_filter("S2MSI2A", dt.datetime(2020, 1, 1), dt.datetime(2020, 2, 1), cloud_cover_max=20)
    assert "Collection/Name eq 'SENTINEL-2'" in s2
    assert "cloudCover' and att/OData.CSC.DoubleAttribute/Value le 20.00" in s2
    with pytest.raises(ConfigError, match="GRD_XX"):
        odata_filter("GRD_XX", dt.datetime(2020, 1, 1), dt.datetime(2020, 2, 1))
    assert ring[0] == ring[-1] and len(ring) == 5
