"""GRD border noise (soilsat.sar.border) against the rules of SNAP's RemoveGRDBorderNoiseOp (microwave-toolbox
13.0.0), on synthetic borders built as real products' look: low-DN wedges with ragged edges and isolated bright
pixels inside the border zone."""

from __future__ import annotations

import numpy as np
import pytest

from soilsat.sar import border

LIMIT = 100  # borderLimit of these images


def snap_profile(strip: np.ndarray, limit: int) -> np.ndarray:
    """SNAP's detectBorder average for a top strip (rows, full width), written out loop by loop as in the Java:
    per tile of `limit` columns the row sums of the non-zero values over the tile's width, averaged over tiles."""
    rows, width = strip.shape
    avg = np.zeros(limit)
    tiles = 0
    for x0 in range(0, width, limit):
        tile = strip[:, x0 : x0 + limit]
        for r in range(rows):
            avg[r] += tile[r][tile[r] != 0].sum() / tile.shape[1]
        tiles += 1
    return avg / tiles


def snap_peak(array: np.ndarray) -> int:
    """SNAP's getPeakPosition, loop by loop."""
    derivative = [abs(array[i + 1] - array[i]) for i in range(len(array) - 1)]
    max_idx, best, mean = -1, -np.inf, 0.0
    for i, d in enumerate(derivative):
        mean += d
        if best < d:
            best, max_idx = d, i
    mean /= len(derivative)
    return max_idx if mean > 0.0 and best / mean > 10.0 else -1


def synthetic_image(seed: int = 0) -> tuple[np.ndarray, dict]:
    """A 600 x 700 amplitude image: speckled signal of DN about 150, a low-DN wedge on the left whose ragged edge
    is 24 to 28 columns deep, with a few lines reaching 45 deep, 12 low rows at the top, a 29 to 31-column wedge
    on the right, and isolated bright pixels inside the left wedge."""
    rng = np.random.default_rng(seed)
    dn = np.clip(rng.gamma(4.4, 150 / 4.4, size=(600, 700)) ** 0.5 * 12.2, 31, 4000).astype(np.uint16)
    depth = 26 + rng.integers(-2, 3, 600)
    depth[rng.choice(np.arange(20, 600), 8, replace=False)] = 45
    for y, d in enumerate(depth):
        dn[y, :d] = rng.integers(3, 25, d)
    right = 30 + rng.integers(-1, 2, 600)
    for y, d in enumerate(right):
        dn[y, -d:] = rng.integers(3, 25, d)
    dn[:12] = rng.integers(3, 25, (12, 700))
    bright = [(100, 5), (300, 10), (500, 3)]
    for y, x in bright:
        dn[y, x] = 220
    return dn, {"left": depth, "right": right, "bright": bright}


def test_profile_and_peak_as_snap_computes_them():
    dn, _ = synthetic_image()
    strip = dn[:LIMIT].astype(float)
    acc = border.EdgeProfile(LIMIT, dn.shape[1])
    acc.add(strip[:, :333], 0)  # in two pieces, as the engine reads blocks
    acc.add(strip[:, 333:], 333)
    acc.set_sizes(dn.shape[1])
    np.testing.assert_allclose(acc.profile(), snap_profile(strip, LIMIT), rtol=1e-12)
    assert border.peak_position(acc.profile()) == snap_peak(snap_profile(strip, LIMIT)) == 11
    assert border.peak_position(np.full(50, 7.0)) == -1  # no jump: no border
    assert border.peak_position(np.r_[np.ones(10), np.full(10, 1.4)] + np.linspace(0, 1, 20)) == -1  # not 10x the mean


def test_zones_follow_snaps_formulas():
    # SNAP: topBorder = peak (tested y < topBorder), bottomBorder = H - L + peak (y > bottomBorder),
    # leftBorder = peak (x < leftBorder), rightBorder = W - L + (int)(0.8 peak) (x > rightBorder); soilsat also
    # tests the peak row/column of the top and left (the last no-value one, which SNAP's "<" leaves out)
    zones = border.Zones.from_peaks((LIMIT, LIMIT), top=11, bottom=80, left=26, right=69)
    assert (zones.top, zones.bottom, zones.left, zones.right) == (12, LIMIT - 1 - 80, 27, LIMIT - 1 - int(0.8 * 69))
    none = border.Zones.from_peaks((LIMIT, LIMIT), -1, -1, -1, -1)
    assert none == border.Zones() and not none.touches((0, 10), (0, 10), (600, 700))
    inside = zones.mask((0, 600), (0, 700), (600, 700))
    assert inside[:12].all() and not inside[12 : -zones.bottom, 27 : -zones.right].any()
    assert inside[:, :27].all() and inside[:, 700 - zones.right :].all() and inside[-zones.bottom :].all()


def test_the_pixel_test_is_on_amplitude_after_the_noise():
    dn = np.array([[0, 12, 29, 30, 40, 40, 200]], dtype=np.uint16)
    noise = np.array([0.0, 0.0, 0.0, 0.0, 1600 - 0.3**2, 0.0, 1e9])
    flagged = border.no_value(dn, noise[None, :], 0.5)
    # zeros stay (already no data); DN < 30 is no-value; sqrt(40^2 - noise) = 0.3 < 0.5 is; a huge noise clips to 0
    assert flagged.tolist() == [[False, True, True, False, True, False, True]]
    # the same 0.3 on power (the rule before: DN^2 - noise > threshold) would have kept it; amplitude 0.6 passes
    assert not border.no_value(np.array([[40]]), np.array([[1600 - 0.6**2]]), 0.5).any()


def test_synthetic_borders_end_to_end():
    dn, truth = synthetic_image()
    shape = dn.shape
    peaks = {}
    for side, strip in (
        ("top", dn[:LIMIT]),
        ("bottom", dn[-LIMIT:]),
        ("left", dn[:, :LIMIT].T),
        ("right", dn[:, -LIMIT:].T),
    ):
        acc = border.EdgeProfile(LIMIT, strip.shape[1])
        acc.add(strip, 0)
        acc.set_sizes(strip.shape[1])
        peaks[side] = border.peak_position(acc.profile())
        assert peaks[side] == snap_peak(snap_profile(strip.astype(float), LIMIT))
    assert peaks["bottom"] == -1  # no border at the bottom
    zones = border.Zones.from_peaks((LIMIT, LIMIT), **peaks)
    # the profile jumps where most lines' wedges end: the zone reaches the ragged edge
    assert 24 <= zones.left <= 29 and zones.top == 12
    noise = np.zeros(shape[1])
    mask = border.border_mask(dn, (0, shape[0]), (0, shape[1]), shape, zones, noise, 0.5)
    low = dn < 30
    assert mask[:12].all()  # the top rows
    assert (mask == (low & zones.mask((0, shape[0]), (0, shape[1]), shape))).all()
    for y, x in truth["bright"]:  # isolated bright pixels inside the zone are kept, as SNAP keeps them
        assert not mask[y, x]
    # the ragged wedge beyond the zone is left as SNAP leaves it: lines deeper than the zone keep low pixels
    deep = [y for y, d in enumerate(truth["left"]) if d > zones.left and y >= 12]
    assert deep and all(not mask[y, zones.left : truth["left"][y]].any() for y in deep)
    # the right zone reaches deeper than the wedge (SNAP's 0.8), so the whole wedge is caught
    assert all(mask[y, -d:].all() for y, d in enumerate(truth["right"]))
    # blocks of lines give the same mask as the whole image
    pieces = [
        border.border_mask(dn[a : a + 128], (a, min(a + 128, shape[0])), (0, shape[1]), shape, zones, noise, 0.5)
        for a in range(0, shape[0], 128)
    ]
    assert (np.concatenate(pieces) == mask).all()


def test_noise_lut_and_its_scale_by_ipf():
    lut = border.noise_lut([0, 40, 80], [10.0, 20.0, 40.0], 100, 2.0)
    assert lut[0] == 20.0 and lut[20] == 30.0 and lut[60] == 60.0
    assert lut[99] == pytest.approx((40.0 + 0.5 * 19) * 2.0)  # extrapolated beyond the last pixel, as SNAP walks it
    assert border.noise_scale((2, 70), "IW", 474.0) == 1.0
    assert border.noise_scale((2, 50), "IW", 474.0) == pytest.approx(75088.7 * 474.0**2)  # SNAP: version <= 2.50
    assert border.noise_scale((2, 43), "EW", 474.0) == pytest.approx(56065.87 * 474.0**2)
    assert border.noise_scale((2, 33), "IW", 474.0) == pytest.approx(75088.7 * 474.0)  # before 2.34: K * DN0
    with pytest.raises(ValueError, match="IW and EW only"):
        border.noise_scale((2, 43), "SM", 474.0)
    assert border.needs_border_removal((2, 70)) and border.needs_border_removal((2, 43))
    assert not border.needs_border_removal((2, 90)) and not border.needs_border_removal((3, 40))
