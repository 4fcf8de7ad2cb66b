"""The inputs of each Simonsen (2021) model variant, as Table A2 of the thesis lists them."""

import dataclasses

import numpy as np
import pytest

from conftest import schema_section
from soilsat.errors import ConfigError
from soilsat.models.simonsen import sequences
from soilsat.models.simonsen.inputs import InputSettings
from synthetic import probe_dataset

THESIS = InputSettings.from_config(schema_section("train.inputs"))  # Table A2
BOTH = InputSettings(polarisations=("VV", "VH"), sigma0_scale="db", incidence_angle=True)
DYNAMIC = ("ts_max", "sigma0_vv", "ndvi", "ndwi", "precipitation", "dry_days", "tmin", "tmean", "tmax")


def test_variants_read_the_inputs_of_table_a2():
    ds = probe_dataset(7)
    seq = sequences.from_dataset(ds, "agriculture", THESIS)
    assert list(seq.probes) == ["p0", "p1", "p3", "p5", "p6"]
    assert seq.features == DYNAMIC
    onehot = ("landcover_211", "landcover_212", "landcover_231", "landcover_311")
    assert sequences.from_dataset(ds, "minimum", THESIS).features == DYNAMIC + onehot
    full = sequences.from_dataset(ds, "full", THESIS)
    assert full.features == DYNAMIC + ("elevation", "slope", "aspect_x", "aspect_y") + onehot + (
        "base_saturation",
        "clay",
        "silt",
        "sand",
        "organic_carbon",
    )
    # land cover is nominal: each probe has exactly one class set
    columns = [full.features.index(name) for name in onehot]
    np.testing.assert_array_equal(full.inputs[:, 0, columns].sum(axis=1), 1)
    assert sequences.from_dataset(ds, "agriculture", BOTH).features == (
        "ts_max",
        "sigma0_vv_db",
        "sigma0_vh_db",
        "incidence_angle",
        *DYNAMIC[2:],
    )
    with pytest.raises(ConfigError, match=r"lacks the model inputs \['sigma0_vh'\]"):
        sequences.from_dataset(ds.drop_vars("sigma0_vh"), "minimum", dataclasses.replace(BOTH, sigma0_scale="linear"))
