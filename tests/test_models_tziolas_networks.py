"""Tziolas et al. (2020) networks: the multi-input CNN of Table 3 and the ANN, shapes and parameters counted by hand."""

import torch

from network_helpers import count
from soilsat.models.tziolas import networks as tziolas


def test_tziolas_cnn_matches_table_3():
    model = tziolas.MultiInputCnn(12, 150).eval()
    x = torch.stack([torch.randn(2, 12, 150), torch.ones(2, 12, 150)], 1)  # values and observed mask
    shapes = []
    h = x
    for index, conv in enumerate(model.convs):
        if index:
            h = model.pool(h)
            shapes.append(tuple(h.shape[1:]))
        h = conv(h)
        shapes.append(tuple(h.shape[1:]))
    # conv 16 (12->10 channels), pool (150->75), conv 64 (10->8), pool (75->37), conv 16 (8->6), pool (37->18)
    assert shapes == [(16, 10, 150), (16, 10, 75), (64, 8, 75), (64, 8, 37), (16, 6, 37)]
    maps, observed = model.last_maps(x)
    assert maps.shape == (2, 16, 6, 37) and observed.shape == (2, 1, 1, 37)
    assert model.features(x).shape == (2, 1728)
    # the first convolution reads two planes (values, mask): 2 x 3 weights per filter instead of Table 3's 3
    expected = (16 * 2 * 3 + 16) + (64 * 16 * 3 + 64) + (16 * 64 * 3 + 16)  # convolutions
    expected += 1728 * 8 + 8  # dense 8 after flatten
    expected += (2 * 8 + 8) + (8 * 4 + 4)  # auxiliary branch
    expected += (12 * 64 + 64) + (64 * 16 + 16) + (16 + 1)  # head
    assert count(model) == expected == 22069 + 16 * 3
    out = model(x, torch.randn(2, 2))
    assert out.shape == (2,) and out.abs().max() <= 1
    no_coords = tziolas.MultiInputCnn(12, 150, coordinates=False)
    assert count(no_coords) == expected - (2 * 8 + 8) - (8 * 4 + 4) - 4 * 64
    no_sar = tziolas.MultiInputCnn(n_channels=10, n_observations=150)
    assert no_sar(torch.stack([torch.randn(3, 10, 150), torch.ones(3, 10, 150)], 1), torch.randn(3, 2)).shape == (3,)
    assert count(no_sar) == expected - 1728 * 8 + 16 * 4 * 18 * 8


def test_tziolas_cnn_zeroes_unobserved_positions_after_every_relu():
    torch.manual_seed(0)
    model = tziolas.MultiInputCnn(n_channels=12, n_observations=32, coordinates=False).eval()
    values = torch.randn(1, 12, 32)
    mask = torch.zeros(1, 12, 32)
    mask[..., :5] = 1  # five observations, then padding
    mask[:, 10:, 2] = 0  # no Sentinel-1 pair on the third date: the date stays observed
    maps, observed = model.last_maps(torch.stack([values, mask], 1))
    # observations 0-4 pool to positions 0-2 of 16, then 0-1 of 8 at the last convolution
    assert observed.flatten().tolist() == [1.0, 1.0] + [0.0] * 6
    assert (maps[..., 2:] == 0).all() and (maps[..., :2] > 0).any()
    pooled = model.features(torch.stack([values, mask], 1)).reshape(1, 16, 6, 4)
    assert (pooled[..., 1:] == 0).all(), "only the first pooled position holds an observation"
    garbage = torch.where(mask > 0, values, torch.full_like(values, 1e4))
    assert torch.equal(model(torch.stack([garbage, mask], 1)), model(torch.stack([values, mask], 1)))


def test_tziolas_ann_counts():
    model = tziolas.Ann(12)
    assert count(model) == (12 * 8 + 8) + (8 * 32 + 32) + (32 * 8 + 8) + (8 + 1)
    masked = tziolas.Ann(98, masked=True)  # values and their observed indicators
    assert count(masked) == count(model) + (2 * 98 - 12) * 8
    x = torch.stack([torch.randn(4, 98), torch.ones(4, 98)], 1)
    assert masked.eval()(x).shape == (4,)
