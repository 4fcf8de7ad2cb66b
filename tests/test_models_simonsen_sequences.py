"""Probe x day x feature arrays of the Simonsen (2021) models: gaps get an observed channel."""

from conftest import schema_section
from soilsat.models.simonsen import sequences
from soilsat.models.simonsen.inputs import InputSettings
from synthetic import probe_dataset

THESIS = InputSettings.from_config(schema_section("train.inputs"))  # Table A2
BOTH = InputSettings(polarisations=("VV", "VH"), sigma0_scale="db", incidence_angle=True)


def test_missing_inputs_get_an_observed_channel():
    seq = sequences.from_dataset(probe_dataset(), "minimum", BOTH)
    observed = seq.observed
    assert observed.shape == (5, 40, 3)  # sigma0 vv, vh and incidence angle have gaps
    assert observed[:, 1::3].sum() == 0 and observed[:, ::3].min() == 1
    assert sequences.from_dataset(probe_dataset(), "minimum", THESIS).observed.shape == (5, 40, 1)
