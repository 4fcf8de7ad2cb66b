"""Series rules on hand-made data with known answers."""

import numpy as np
import pandas as pd
import pytest

from soilsat.evaluate.metrics import scores
from soilsat.extract.series import consecutive_dry_days, interpolate_within
from soilsat.extract.stack import nanmedian_first_axis


def test_interpolation_only_within_window():
    days = pd.date_range("2020-01-01", periods=100, freq="D")
    series = pd.Series(np.nan, index=days)
    series.iloc[0] = 0.0
    series.iloc[10] = 1.0
    series.iloc[90] = 0.5
    out = interpolate_within(series, window_days=30)
    assert out.iloc[5] == 0.5  # halfway between the first two observations
    assert out.iloc[40] == np.interp(40, [10, 90], [1.0, 0.5])  # 30 days from day 10
    assert np.isnan(out.iloc[50])  # 40 days from both observations
    assert out.iloc[60] == np.interp(60, [10, 90], [1.0, 0.5])  # 30 days before day 90
    assert np.isnan(out.iloc[95])  # after the last observation: no extrapolation


def test_dry_days_count_and_reset():
    precipitation = np.array([0.0, 0.05, 0.0, 2.0, 0.0, 0.1, 0.0, np.nan, 0.0])
    assert consecutive_dry_days(precipitation).tolist()[:7] == [1, 2, 3, 0, 1, 0, 1]
    out = consecutive_dry_days(precipitation)
    assert np.isnan(out[7]) and out[8] == 1  # a missing day breaks the count


def test_scores_known_values():
    s = scores(np.array([0.1, 0.2, 0.3, np.nan]), np.array([0.2, 0.3, 0.4, 0.5]))
    assert s["n"] == 3
    assert np.isclose(s["mae"], 0.1) and np.isclose(s["bias"], 0.1) and np.isclose(s["rmse"], 0.1)
    assert np.isclose(s["ubrmse"], 0.0, atol=1e-9) and np.isclose(s["r"], 1.0)


def _sentinel1_raster(
    path, grid, vv: float, vh: float, ellipsoid: float, local: float, start: str, direction: str | None
):
    """A Sentinel-1 COG laid out as the sentinel1 rule writes it, with constant bands."""
    from soilsat.io import write_cog

    bands = np.stack([np.full(grid.shape, v, np.float32) for v in (vv, vh, ellipsoid, local, 1.0)])
    tags = {"region": grid.region, "sensing_start": start, "product": path.stem}
    if direction is not None:
        tags["orbit_direction"] = direction
    write_cog(
        path, bands, grid, ["sigma0_VV", "sigma0_VH", "incidence_angle", "local_incidence_angle", "mask"], tags=tags
    )
    return str(path)


def _radar_setup(tmp_path, untagged: bool = False):
    from soilsat.grid import region_grid

    grid = region_grid("a", 9.0, 56.0, 100, 0)
    paths = [
        _sentinel1_raster(tmp_path / "asc1.tif", grid, 0.10, 0.02, 35.0, 30.0, "2020-05-01T17:10:00", "ASCENDING"),
        _sentinel1_raster(
            tmp_path / "dsc1.tif",
            grid,
            0.20,
            0.04,
            41.0,
            44.0,
            "2020-05-01T05:40:00",
            None if untagged else "DESCENDING",
        ),
        _sentinel1_raster(tmp_path / "dsc2.tif", grid, 0.30, 0.06, 39.0, 36.0, "2020-05-03T05:40:00", "DESCENDING"),
    ]
    from soilsat.extract.rasters import index_rasters

    pixels = pd.DataFrame({"probe": ["p"], "region": ["a"], "row": [4], "col": [4]})
    return index_rasters(paths, "sentinel1"), pixels


def test_radar_series_reads_the_local_incidence_angle_and_merges_orbits(tmp_path):
    from soilsat.extract.probes import radar_series

    paths, pixels = _radar_setup(tmp_path)
    merged = radar_series(paths, pixels, orbits="merged", max_z=None)
    day1, day3 = merged.loc[("p", pd.Timestamp("2020-05-01"))], merged.loc[("p", pd.Timestamp("2020-05-03"))]
    # same-day ascending and descending passes averaged; the angle is the local one (30, 44), not the ellipsoid's
    # (35, 41)
    assert day1["sigma0_vv"] == pytest.approx(0.15) and day1["sigma0_vh"] == pytest.approx(0.03)
    assert day1["incidence_angle"] == pytest.approx(37.0)
    assert day3["incidence_angle"] == pytest.approx(36.0) and day3["sigma0_vv"] == pytest.approx(0.30)


@pytest.mark.parametrize(
    "orbits, expected",
    [
        ("ascending", {"2020-05-01": (0.10, 30.0)}),
        ("descending", {"2020-05-01": (0.20, 44.0), "2020-05-03": (0.30, 36.0)}),
    ],
)
def test_radar_series_per_orbit_direction(tmp_path, orbits, expected):
    from soilsat.extract.probes import radar_series

    paths, pixels = _radar_setup(tmp_path)
    out = radar_series(paths, pixels, orbits=orbits, max_z=None)
    assert [t.strftime("%Y-%m-%d") for t in out.index.get_level_values("time")] == list(expected)
    for day, (vv, angle) in expected.items():
        row = out.loc[("p", pd.Timestamp(day))]
        assert row["sigma0_vv"] == pytest.approx(vv) and row["incidence_angle"] == pytest.approx(angle)


def test_radar_series_one_direction_needs_the_orbit_tag(tmp_path):
    from soilsat.extract.probes import radar_series

    paths, pixels = _radar_setup(tmp_path, untagged=True)
    with pytest.raises(ValueError, match="lack an orbit_direction tag: dsc1"):
        radar_series(paths, pixels, orbits="descending", max_z=None)
    assert len(radar_series(paths, pixels, orbits="merged", max_z=None)) == 2  # merged needs no tag


def test_median_over_dates_matches_numpy_with_gaps():
    rng = np.random.default_rng(3)
    stack = rng.random((9, 3, 20, 20), dtype=np.float32)
    stack[rng.random(stack.shape) < 0.5] = np.nan
    stack[:, :, 0, 0] = np.nan  # never observed
    stack[:, 0, 1, 1] = [np.nan] * 8 + [0.25]  # observed once
    with pytest.warns(RuntimeWarning):
        expected = np.nanmedian(stack, axis=0)
    median = nanmedian_first_axis(stack)
    assert median.dtype == np.float32 and median.shape == (3, 20, 20)
    assert np.array_equal(median, expected, equal_nan=True)
    assert np.isnan(median[:, 0, 0]).all() and median[0, 1, 1] == 0.25
    assert (
        nanmedian_first_axis(np.array([[1.0], [4.0], [2.0], [np.nan], [3.0]]))[0] == 2.5
    )  # even count: the mean of the middle two


def test_radar_series_reads_only_the_polarisations_asked_for(tmp_path):
    from soilsat.extract.probes import radar_series

    paths, pixels = _radar_setup(tmp_path)
    vv_only = radar_series(paths, pixels, ("VV",), orbits="merged", max_z=None)
    assert list(vv_only.columns) == ["sigma0_vv", "incidence_angle"]
    assert vv_only.loc[("p", pd.Timestamp("2020-05-03")), "sigma0_vv"] == pytest.approx(0.30)


def test_sigma0_outliers_by_population_and_scale():
    from soilsat.extract.probes import sigma0_outliers

    # two probes; probe b sits an order of magnitude brighter than probe a (a forest beside a field)
    values = [0.01, 0.012, 0.011, 0.013, 0.010, 0.012, 0.30] + [0.10, 0.11, 0.12, 0.10, 0.11, 0.12, 0.11]
    samples = pd.DataFrame(
        {"probe": ["a"] * 7 + ["b"] * 7, "product": [f"i{k}" for k in range(7)] * 2, "sigma0_vv": values}
    )
    per_probe = sigma0_outliers(samples, "sigma0_vv", 2.0, "probe", "db")
    assert per_probe.isna().tolist() == [False] * 6 + [True] + [False] * 7  # 0.30 is an outlier for probe a
    pooled = sigma0_outliers(samples, "sigma0_vv", 2.0, "dataset", "linear")
    assert pooled.isna().sum() == 1 and np.isnan(pooled.iloc[6])  # over the dataset, on linear values
    by_image = sigma0_outliers(samples, "sigma0_vv", 2.0, "image", "linear")
    assert by_image.notna().all()  # two values an image: no z-score beyond 2 (fewer than 3 values)
