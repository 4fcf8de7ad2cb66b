"""Tsagkatakis et al. (2021) fusion network and its composite loss, counted and computed by hand."""

import pytest
import torch

from conftest import schema_section
from network_helpers import count
from soilsat.models.tsagkatakis import network as tsagkatakis
from soilsat.models.tsagkatakis.protocol import FusionSettings, build_network


def by_hand(kernel: int) -> int:
    """Four blocks of `kernel` x `kernel` convolutions of 32 filters on 4 bands, batch norm, a 1 x 1 collapse."""
    return (4 * kernel**2 * 32 + 32) + 3 * (32 * kernel**2 * 32 + 32) + 4 * (2 * 32) + (32 + 1)


def test_the_paper_settings_give_about_50k_parameters():
    """Section IV-A: 'in the order of 50k'; its four blocks of 32 filters reach it with 4 x 4 kernels."""
    settings = FusionSettings.from_config(schema_section("train.tsagkatakis"))
    model = build_network(4, settings)
    assert count(model) == by_hand(4) == 51617
    assert count(tsagkatakis.FusionCnn(4, 32, 4, 0.1, 3)) == by_hand(3) == 29217
    for size in (7, 8, 31):  # "same" padding keeps any patch size, even kernels included
        assert model(torch.randn(2, 4, size, size)).shape == (2, size, size)


def test_cell_means_average_each_cell_of_each_patch():
    values = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[10.0, 20.0], [30.0, 40.0]]])
    cells = torch.tensor([[[0, 0], [1, -1]], [[0, 1], [1, 1]]])
    means, counts = tsagkatakis.cell_means(values, cells, 2)
    assert means.tolist() == [[1.5, 3.0], [10.0, 30.0]] and counts.tolist() == [[2, 1], [1, 3]]


def test_the_loss_mixes_probe_pixels_and_9km_cell_means():
    predicted = torch.zeros(1, 4, 4)
    values = torch.full((1, 4, 4), float("nan"))
    values[0, 0, 0] = 1.0
    mask = torch.isfinite(values)
    cells = torch.tensor([[[0, 0, 1, 1]] * 4])  # two 9 km cells, left and right
    target = torch.where(cells == 0, 2.0, float("nan")).float()  # the right cell has no L2 value
    loss = tsagkatakis.fusion_loss
    assert float(loss(predicted, values, mask, target, cells, 1.0)) == pytest.approx(1.0)
    assert float(loss(predicted, values, mask, target, cells, 0.0)) == pytest.approx(4.0)  # the left cell only
    assert float(loss(predicted, values, mask, target, cells, 0.25)) == pytest.approx(0.25 + 3.0)
    # the cell mean, not each pixel, meets the target: a prediction averaging 2 over the cell costs nothing
    spread = torch.tensor([[[1.0, 3.0, 0.0, 0.0]] * 4])
    assert float(loss(spread, values, torch.zeros_like(mask), target, cells, 0.0)) == pytest.approx(0.0)
