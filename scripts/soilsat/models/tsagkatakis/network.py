"""Tsagkatakis et al. (2021) multi-modal fusion CNN: sigma0 and brightness-temperature patches -> soil moisture.

Four blocks (section IV-A) of a convolution with 32 filters spanning every input channel, ReLU, spatial
dropout and batch normalisation, collapsed across the filters by a 1 x 1 convolution to one value per fine
pixel. The kernel size is not published: 4 x 4 gives the paper's "order of 50k" trainable parameters
(51,617), 3 x 3 would give 29,217. Padding keeps the patch size (as Keras' "same": the extra row and column
of an even kernel after the patch).

The loss (Eq. 3) mixes alpha x the masked loss at the pixels of the training probes (Eq. 1) with
(1 - alpha) x the loss against the SMAP L2 9 km soil moisture of the prediction averaged over each 9 km cell
(Eq. 2: the downsampling D, average pooling followed by upsampling, on the cells the fine pixels fall in).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def same_padding(kernel_size: int) -> nn.ZeroPad2d:
    """Zero padding that keeps the size under a kernel: (k - 1) // 2 before, the rest after."""
    before = (kernel_size - 1) // 2
    after = kernel_size - 1 - before
    return nn.ZeroPad2d((before, after, before, after))


class FusionCnn(nn.Module):
    """(batch, channel, y, x) input stack -> (batch, y, x) soil moisture."""

    def __init__(self, n_inputs: int, filters: int, blocks: int, dropout: float, kernel_size: int):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for _ in range(blocks):
            layers += [
                same_padding(kernel_size),
                nn.Conv2d(width, filters, kernel_size),
                nn.ReLU(),
                nn.Dropout2d(dropout),
                nn.BatchNorm2d(filters),
            ]
            width = filters
        self.net = nn.Sequential(*layers)
        self.collapse = nn.Conv2d(filters, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Per-pixel prediction."""
        return self.collapse(self.net(x)).squeeze(1)


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters of a model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def cell_means(values: Tensor, cells: Tensor, n_cells: int) -> tuple[Tensor, Tensor]:
    """Mean of (batch, y, x) values over the pixels of each of `n_cells` cells of each patch (cells: the index
    within the patch, -1 for none), as (batch, n_cells), and the pixel count of each cell."""
    batch = values.shape[0]
    flat_cells = cells.reshape(batch, -1)
    inside = flat_cells >= 0
    index = (torch.arange(batch).unsqueeze(1) * n_cells + flat_cells.clamp(min=0))[inside]
    flat = values.reshape(batch, -1)[inside]
    sums = torch.zeros(batch * n_cells, dtype=values.dtype).index_add(0, index, flat)
    counts = torch.zeros(batch * n_cells, dtype=values.dtype).index_add(0, index, torch.ones_like(flat))
    return (sums / counts.clamp(min=1)).reshape(batch, n_cells), counts.reshape(batch, n_cells)


def fusion_loss(
    predicted: Tensor, probe_values: Tensor, probe_mask: Tensor, target: Tensor, cells: Tensor, alpha: float
) -> Tensor:
    """alpha x MSE at the probe pixels (mask) + (1 - alpha) x MSE of the cell means against the cells' 9 km
    soil moisture (`target` holds each pixel's cell value, NaN where the product has none)."""
    mask = probe_mask.bool()
    point = ((predicted - torch.nan_to_num(probe_values)) ** 2 * mask).sum() / mask.sum().clamp(min=1)
    n_cells = int(cells.max().item()) + 1 if cells.numel() else 0
    if n_cells == 0:
        return alpha * point
    pooled, counts = cell_means(predicted, cells, n_cells)
    # a cell's target is one value on all its pixels (NaN on all where the product has none)
    wanted, _ = cell_means(torch.nan_to_num(target), cells, n_cells)
    has_target, _ = cell_means(torch.isfinite(target).to(predicted.dtype), cells, n_cells)
    scored = (counts > 0) & (has_target > 0.5)
    coarse = ((pooled - wanted) ** 2 * scored).sum() / scored.sum().clamp(min=1)
    return alpha * point + (1 - alpha) * coarse
