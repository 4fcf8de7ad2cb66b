"""Map dates: Sentinel-1 acquisitions spread over the record, among those the optical indices can serve."""

import pandas as pd

from soilsat.models.maps import map_dates, mappable_dates

RADAR = pd.to_datetime(["2016-09-20", "2016-10-23", "2016-11-28", "2016-12-25"])


def test_only_dates_with_an_optical_observation_in_the_window_are_mappable():
    optical = pd.to_datetime(["2016-09-28", "2016-10-18"])  # an arctic winter: no clear scene after October
    assert mappable_dates(RADAR, optical, 30) == list(RADAR[:2])
    assert mappable_dates(RADAR, optical, 45) == list(RADAR[:3])
    assert mappable_dates(RADAR, [], 30) == []


def test_map_dates_spread_over_the_record():
    assert map_dates(RADAR, 2) == [RADAR[0], RADAR[-1]]
    assert map_dates(RADAR, 10) == list(RADAR)
    assert map_dates(RADAR, 0) == []
