"""Tsagkatakis et al. (2021) multi-modal fusion CNN: fine sigma0 + coarse radiometer patches -> soil moisture.

Four blocks of 3 x 3 convolution (32 filters, same padding), ReLU, spatial dropout and batch norm,
collapsed by a 1 x 1 convolution to one value per pixel. The loss mixes a masked loss at probe pixels
with a loss against a coarse product after average pooling by the coarse/fine ratio.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class FusionCnn(nn.Module):
    """(batch, channel, y, x) input stack -> (batch, y, x) soil moisture."""

    def __init__(self, n_inputs: int, filters: int, blocks: int, dropout: float):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for _ in range(blocks):
            layers += [
                nn.Conv2d(width, filters, 3, padding=1),
                nn.ReLU(),
                nn.Dropout2d(dropout),
                nn.BatchNorm2d(filters),
            ]
            width = filters
        layers.append(nn.Conv2d(filters, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Per-pixel prediction."""
        return self.net(x).squeeze(1)


def fusion_inputs(fine: Tensor, coarse: Tensor) -> Tensor:
    """Stack fine channels with coarse channels repeated onto the fine grid (nearest)."""
    factor = fine.shape[-1] // coarse.shape[-1]
    return torch.cat([fine, coarse.repeat_interleave(factor, -2).repeat_interleave(factor, -1)], 1)


def fusion_loss(
    predicted: Tensor, probe_values: Tensor, probe_mask: Tensor, coarse_product: Tensor, alpha: float
) -> Tensor:
    """alpha x MSE at probe pixels (mask) + (1 - alpha) x MSE against the coarse product after average pooling."""
    mask = probe_mask.bool()
    n = mask.sum().clamp(min=1)
    point = ((predicted - torch.nan_to_num(probe_values)) ** 2 * mask).sum() / n
    factor = predicted.shape[-1] // coarse_product.shape[-1]
    pooled = nn.functional.avg_pool2d(predicted.unsqueeze(1), factor).squeeze(1)
    valid = torch.isfinite(coarse_product)
    coarse = ((pooled - torch.nan_to_num(coarse_product)) ** 2 * valid).sum() / valid.sum().clamp(min=1)
    return alpha * point + (1 - alpha) * coarse
