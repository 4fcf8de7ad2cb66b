"""GRD border noise (soilsat.sar.border): the IPF rule and the no-value runs from each edge."""

from __future__ import annotations

import numpy as np

from soilsat.sar import border


def test_border_rule_by_ipf_version():
    assert border.needs_border_removal((2, 70)) and border.needs_border_removal((2, 43))
    assert not border.needs_border_removal((2, 90)) and not border.needs_border_removal((3, 40))
    assert border.noise_scale((2, 70), np.full(5, 474.0)) == 1.0
    assert border.noise_scale((2, 43), np.full(5, 474.0)) == 474.0**2


def test_border_runs_from_each_edge():
    dn = np.full((40, 60), 100, dtype=np.uint16)
    dn[:, :5] = 12  # low "no-value" samples on the left
    dn[7, :9] = 12  # a deeper run on one line
    dn[:, -3:] = 20
    dn[:2] = 8
    dn[-4:, 30] = 0
    noise = np.zeros(dn.shape)
    noise[:, 5] = 100**2  # column 5 is all noise: part of the left run
    good = border.signal(dn, noise, 0.5)
    assert not good[10, 5] and good[10, 6]
    left, right = border.side_depths(good, 500)
    assert left[10] == 6 and left[7] == 9 and np.all(right[2:] == 3)
    assert left[0] == right[1] == 60  # an all-noise line is no-value across
    top, bottom = border.edge_depths(good[:20], good[20:], 500)
    assert top[30] == 2 and bottom[30] == 4 and bottom[31] == 0
    mask = border.border_mask(dn.shape, 0, 40, left, right, top, bottom)
    assert mask[10, :6].all() and not mask[10, 6:-3].any() and mask[10, -3:].all()
    assert mask[:2].all() and mask[-4:, 30].all() and not mask[-4:, 31].all()
    # the search stops at border_limit: a run deeper than the limit is trimmed only up to it
    left4, _ = border.side_depths(good, 4)
    assert left4.max() == 4
