"""A region's area of interest: picked by name, a closed lon/lat ring, its bounds and its study grid's bounds."""

from __future__ import annotations

import pytest

from soilsat.acquire.aoi import aoi_bounds, aoi_polygon, grid_bounds, region_polygon, regions_named
from soilsat.errors import ConfigError

SKJERN = {"name": "skjern", "lon": 8.99, "lat": 55.95, "size_m": 2000}


def test_regions_are_picked_by_name_in_the_order_asked():
    regions = [SKJERN, {"name": "gers", "lon": 0.6, "lat": 43.7}]
    assert regions_named(regions, ["gers", "skjern"]) == [regions[1], SKJERN]
    with pytest.raises(ConfigError, match=r"^config key regions: no region named \['texas'\]$"):
        regions_named(regions, ["skjern", "texas"])


def test_the_aoi_is_a_closed_square_of_its_size_plus_the_margin():
    ring = aoi_polygon(9.0, 56.0, 5000, margin_m=500)
    assert ring[0] == ring[-1] and len(ring) == 5
    west, south, east, north = aoi_bounds({"lon": 9.0, "lat": 56.0, "size_m": 5000}, 500)
    assert (north - south) * 111_320 == pytest.approx(6000)
    assert (east - west) * 111_320 * 0.5591929 == pytest.approx(6000, rel=1e-6)  # cos(56 deg)
    assert region_polygon(SKJERN, 0) == aoi_polygon(8.99, 55.95, 2000)
    assert aoi_bounds({"lon": 9.0, "lat": 56.0}, 0) == aoi_bounds({"lon": 9.0, "lat": 56.0, "size_m": 5000}, 0)


def test_the_study_grid_covers_the_aoi_to_a_few_pixels():
    grid = grid_bounds(SKJERN, 500)  # the UTM grid snapped to 10 m, seen in lon/lat
    assert grid == pytest.approx(aoi_bounds(SKJERN, 500), abs=5e-4)
    assert grid != aoi_bounds(SKJERN, 500)
