"""The Tziolas et al. (2020) sample series as arrays and the scaled inputs each model variant reads."""

import numpy as np
import pytest

from soilsat.errors import ConfigError, ProductError
from soilsat.models.tziolas import samples
from synthetic import samples_dataset

VV = 10  # channel index of VV after the ten Sentinel-2 bands


@pytest.fixture
def data():
    return samples.clay_data(samples_dataset(), observations=8)


def test_clay_data_pads_series_and_keeps_twelve_channels(data):
    assert data.series.shape == (30, 12, 8)
    assert data.channels[-2:] == ("VV", "VH")
    assert np.isnan(data.series[:, :, 6:]).all() and np.isnan(data.series[0, :, 3:]).all()
    assert np.isfinite(data.series[1, :10, :6]).all()


def test_clay_data_names_the_file_and_the_missing_variable():
    with pytest.raises(ProductError, match=r"samples\.nc: sample dataset lacks variables \['VH'\]"):
        samples.clay_data(samples_dataset().drop_vars("VH"), observations=8, source="samples.nc")
    with pytest.raises(ConfigError, match="train.tziolas.observations must be at least 8"):
        samples.clay_data(samples_dataset(), observations=4)


def test_cnn_inputs_are_values_and_mask_scaled_with_training_ranges_only(data):
    train = np.arange(20)
    spectral, coords = samples.cnn_inputs(data, train, samples.CNN_VARIANTS["default"])
    assert spectral.shape == (30, 2, 12, 8) and coords.shape == (30, 2)
    values, mask = spectral[:, 0], spectral[:, 1]
    assert set(np.unique(mask)) == {0.0, 1.0}
    np.testing.assert_array_equal(mask, np.isfinite(data.series))
    assert (values[mask == 0] == 0).all(), "missing values are 0 in the value plane, and masked"
    assert mask[0, :, 3:].max() == 0 and mask[5, VV, 5] == 0 and mask[5, VV, 4] == 1, "padding and a missing VV"
    assert values[train][mask[train] == 1].min() == -1 and values[train][mask[train] == 1].max() == 1
    changed = samples.ClayData(
        data.samples, data.series.copy(), data.channels, data.coords.copy(), data.target, data.region
    )
    changed.series[25] *= 100.0
    changed.coords[25] += 10.0
    spectral2, coords2 = samples.cnn_inputs(changed, train, samples.CNN_VARIANTS["default"])
    np.testing.assert_array_equal(spectral2[train], spectral[train])
    np.testing.assert_array_equal(coords2[train], coords[train])
    assert coords2[25].max() > 1, "a test value outside the training range is not clipped into it"
    without_sar, none = samples.cnn_inputs(data, train, samples.CNN_VARIANTS["without_SAR_and_coordinates"])
    assert without_sar.shape == (30, 2, 10, 8) and none is None


def test_fit_ranges_known_answer():
    values = np.array([[0.0, 10.0], [2.0, 30.0], [100.0, -5.0], [np.nan, 20.0]])
    ranges = samples.fit_ranges(values, np.array([0, 1, 3]))
    np.testing.assert_array_equal(ranges.low, [0.0, 10.0])
    np.testing.assert_array_equal(ranges.high, [2.0, 30.0])
    np.testing.assert_allclose(samples.scale(values, ranges), [[-1, -1], [1, 1], [99, -2.5], [np.nan, 0]])
    np.testing.assert_array_equal(samples.mask_planes(samples.scale(values, ranges))[3], [[0, 0], [0, 1]])


def test_table_features_of_the_rf_and_ann_variants(data):
    median = samples.table_features(data, samples.TABLE_VARIANTS["median"])
    np.testing.assert_allclose(median[:, :10], np.nanmedian(data.series[:, :10], axis=2), rtol=1e-6)
    np.testing.assert_array_equal(median[:, 10:], data.coords)
    assert samples.table_features(data, samples.TABLE_VARIANTS["median_without_coordinates"]).shape == (30, 10)
    per_date = samples.table_features(data, samples.TABLE_VARIANTS["per_date"])
    assert per_date.shape == (30, 12 * 8 + 2)
    assert per_date[5, VV * 8 + 4] == data.series[5, VV, 4] and np.isnan(per_date[5, VV * 8 + 5]), "NaN, not 0"
    planes = samples.ann_inputs(data, np.arange(24), samples.TABLE_VARIANTS["per_date"])
    assert planes.shape == (30, 2, 98)
    np.testing.assert_array_equal(planes[:, 1, :96], np.isfinite(data.series).reshape(30, 96))
    assert (planes[:, 1, 96:] == 1).all() and (planes[:, 0][planes[:, 1] == 0] == 0).all()
    assert samples.ann_inputs(data, np.arange(24), samples.TABLE_VARIANTS["median"]).shape == (30, 12)
