"""Tsagkatakis et al. (2021) fusion network and its composite loss, counted and computed by hand."""

import pytest
import torch

from network_helpers import count
from soilsat.models.tsagkatakis import network as tsagkatakis


def test_tsagkatakis_fusion_network_and_loss():
    model = tsagkatakis.FusionCnn(n_inputs=4, filters=32, blocks=4, dropout=0.1)
    expected = (4 * 9 * 32 + 32) + 3 * (32 * 9 * 32 + 32) + 4 * (2 * 32) + (32 + 1)
    assert count(model) == expected == 29217
    fine, coarse = torch.randn(2, 2, 16, 16), torch.randn(2, 2, 2, 2)
    x = tsagkatakis.fusion_inputs(fine, coarse)
    assert x.shape == (2, 4, 16, 16) and model(x).shape == (2, 16, 16)
    predicted = torch.zeros(1, 4, 4)
    values = torch.full((1, 4, 4), float("nan"))
    values[0, 0, 0] = 1.0
    mask = torch.isfinite(values)
    product = torch.full((1, 2, 2), 2.0)
    assert float(tsagkatakis.fusion_loss(predicted, values, mask, product, 1.0)) == pytest.approx(1.0)
    assert float(tsagkatakis.fusion_loss(predicted, values, mask, product, 0.0)) == pytest.approx(4.0)
    assert float(tsagkatakis.fusion_loss(predicted, values, mask, product, 0.25)) == pytest.approx(0.25 + 3.0)
