"""The demo's backscatter: the water-cloud model's trends with moisture, incidence, polarisation and canopy."""

import numpy as np

from soilsat.demo.backscatter import water_cloud


def test_water_cloud_trends():
    sm = np.array([0.05, 0.40])
    bare = water_cloud(sm, np.zeros(2), np.full(2, 39.0), "VV")
    assert np.allclose(10 * np.log10(bare), [-20, -8], atol=0.01)
    assert water_cloud(0.2, 0.0, 45.0, "VV") < water_cloud(0.2, 0.0, 30.0, "VV")
    assert 6.5 < 10 * np.log10(water_cloud(0.2, 0.0, 39.0, "VV") / water_cloud(0.2, 0.0, 39.0, "VH")) < 8.5
    # A dense canopy hides the soil: moisture matters less under it.
    wet_dry_bare = water_cloud(0.4, 0.0, 38.0, "VV") / water_cloud(0.1, 0.0, 38.0, "VV")
    wet_dry_veg = water_cloud(0.4, 0.9, 38.0, "VV") / water_cloud(0.1, 0.9, 38.0, "VV")
    assert wet_dry_veg < wet_dry_bare
