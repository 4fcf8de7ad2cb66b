"""The demo's L-band brightness temperatures: Topp's permittivity, Fresnel emissivity and the tau-omega model."""

from __future__ import annotations

import numpy as np
import pytest

from soilsat.demo import radiometer


def test_topp_inversion_and_fresnel_limits():
    sm = np.array([0.05, 0.2, 0.35])
    eps = radiometer.topp_permittivity(sm)
    assert np.polynomial.polynomial.polyval(eps, radiometer.TOPP_COEFFICIENTS) == pytest.approx(sm, abs=1e-4)
    e_h, e_v = radiometer.fresnel_emissivity(np.array([1.0]), 40.0)
    assert e_h[0] == pytest.approx(1.0) and e_v[0] == pytest.approx(1.0)
    e_h, e_v = radiometer.fresnel_emissivity(eps, 40.0)
    assert np.all(np.diff(e_h) < 0) and np.all(e_v > e_h)  # wetter soil emits less; V above H off nadir


def test_brightness_temperatures_fall_with_soil_moisture_and_rise_under_vegetation():
    sm = np.array([0.05, 0.35])
    bare_h, bare_v = radiometer.brightness_temperatures(sm, 290.0, np.zeros(2))
    assert 150 < bare_h[1] < bare_h[0] < 290 and bare_v[0] > bare_h[0]
    # An L-band sensitivity of order 2-3 K per 0.01 m3/m3 over bare soil.
    assert 1.5 < (bare_h[0] - bare_h[1]) / 30 < 4.0
    covered_h, _ = radiometer.brightness_temperatures(sm, 290.0, np.ones(2))
    assert np.all(covered_h > bare_h) and (covered_h[0] - covered_h[1]) < (bare_h[0] - bare_h[1])
