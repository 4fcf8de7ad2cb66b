"""The demo's reflectance: soil and vegetation spectra, clouds, shadows and snow of a scene, the bare-soil rule."""

import numpy as np
import pytest

from soilsat.demo import reflectance as rf


def test_reflectance_physics():
    one = np.ones((1, 1))
    dry = rf.surface_reflectance(0 * one, 0.05 * one, 10 * one, 10 * one, one == 0)[:, 0, 0]
    wet = rf.surface_reflectance(0 * one, 0.40 * one, 10 * one, 10 * one, one == 0)[:, 0, 0]
    clayey = rf.surface_reflectance(0 * one, 0.05 * one, 50 * one, 10 * one, one == 0)[:, 0, 0]
    veg = rf.surface_reflectance(0.9 * one, 0.2 * one, 10 * one, 10 * one, one == 0)[:, 0, 0]
    water = rf.surface_reflectance(0 * one, 0.4 * one, 10 * one, 0 * one, one == 1)[:, 0, 0]
    i = rf.BAND_INDEX
    assert np.all(wet <= dry)
    loss = 1 - wet / np.where(dry > 0, dry, 1)
    assert loss[i["B12"]] > loss[i["B04"]] and loss[i["B11"]] > loss[i["B04"]]
    assert clayey[i["B12"]] / clayey[i["B11"]] < dry[i["B12"]] / dry[i["B11"]]
    assert veg[i["B07"]] > 2 * veg[i["B05"]] > veg[i["B04"]]  # red edge
    assert water[i["B08"]] < 0.02 and water[i["B12"]] < 0.01
    toa = rf.top_of_atmosphere(dry[:, None, None])[:, 0, 0]
    assert toa[i["B02"]] - dry[i["B02"]] > toa[i["B12"]] - dry[i["B12"]]


def test_clouds_reach_the_requested_fraction_on_average():
    surface = np.full((13, 64, 64), 0.2, dtype=np.float32)
    water = np.zeros((64, 64), bool)
    fracs = [rf.make_scene(surface, water, np.random.default_rng(k), 0.3, 0.0).cloud.mean() for k in range(150)]
    fracs = np.array(fracs)
    assert abs(fracs.mean() - 0.3) < 0.07
    assert (fracs < 0.05).mean() > 0.2 and (fracs > 0.9).mean() > 0.05
    scene = rf.make_scene(surface, water, np.random.default_rng(3), 0.5, 0.4)
    core = scene.cloud_probability[scene.cloud].max()
    assert core >= 95 and scene.cloud_probability[~scene.cloud].max() < 40
    clear = ~scene.cloud & ~scene.shadow & ~scene.snow
    assert scene.toa[rf.BAND_INDEX["B02"]][scene.cloud].mean() > scene.toa[rf.BAND_INDEX["B02"]][clear].mean()
    assert scene.boa[0][scene.shadow].mean() < scene.boa[0][clear].mean()
    snow = scene.snow
    assert snow.any() and (scene.snow_probability[snow] == 100).all()
    assert scene.boa[rf.BAND_INDEX["B03"]][snow].mean() > 0.8 > 0.2 > scene.boa[rf.BAND_INDEX["B11"]][snow].mean()


@pytest.mark.parametrize("clay", [5.0, 20.0, 30.0, 40.0])
@pytest.mark.parametrize("sm", [0.03, 0.15, 0.30, 0.40])
def test_tilled_soil_passes_bare_rule_across_texture_and_moisture(clay, sm):
    one = np.ones((1, 1))
    for soc in (5.0, 20.0, 40.0):
        s = rf.surface_reflectance(0.03 * one, sm * one, clay * one, soc * one, one == 0)
        assert rf.truth_indices(s)["bare_true"][0, 0] == 1, (clay, sm, soc)
        dense = rf.surface_reflectance(0.8 * one, sm * one, clay * one, soc * one, one == 0)
        assert rf.truth_indices(dense)["bare_true"][0, 0] == 0
