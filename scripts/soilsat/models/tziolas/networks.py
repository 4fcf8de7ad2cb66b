"""Tziolas et al. (2020) multi-input CNN for topsoil clay, its ANN baseline and their training loop.

Table 3 of the paper convolves across the 12 spectral channels (kernel 3 x 1, no padding: 12 -> 10 -> 8
-> 6 channels) while keeping the observation axis (pooled 150 -> 75 -> 37 -> 18), so the branch is a
2-D convolution over (channel, observation) with kernels (3, 1) and pooling (1, 2); flatten gives
16 x 6 x 18 = 1728 values for 150 observations.

Missing values are explicit rather than a silent 0: the spectral input is two planes, the scaled values
and their 0/1 observed mask. Values are zeroed where the mask is 0, the mask plane enters the first
convolution, and every ReLU output is zeroed at observation positions that hold no observation (the
observation mask is max-pooled alongside the maps), so padded positions contribute exactly 0 to the
flattened features whatever their values. The per-date ANN reads the same two planes, flattened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, cast

import torch
from torch import Tensor, nn

from soilsat.settings import Settings


@dataclass(frozen=True)
class NetworkSettings(Settings):
    """Variants of one network and their training (config train.tziolas: the CNN, train.tziolas.ann: the ANN)."""

    variants: tuple[str, ...]
    epochs: int
    batch_size: int
    learning_rate: float
    l2: float


def masked_values(planes: Tensor) -> tuple[Tensor, Tensor]:
    """Split (batch, 2, ...) planes into values zeroed where unobserved and the 0/1 mask, each (batch, 1, ...)."""
    values, mask = planes[:, :1], planes[:, 1:2]
    return torch.where(mask > 0, values, torch.zeros_like(values)), mask


class MultiInputCnn(nn.Module):
    """Spectral branch (values + mask, channel x observation) + coordinate branch, tanh output in [-1, 1]."""

    def __init__(self, n_channels: int, n_observations: int, coordinates: bool = True):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(2, 16, (3, 1)), nn.Conv2d(16, 64, (3, 1)), nn.Conv2d(64, 16, (3, 1))])
        self.pool = nn.MaxPool2d((1, 2))
        flat = 16 * (n_channels - 6) * (n_observations // 8)
        self.spectral_dense = nn.Sequential(nn.Linear(flat, 8), nn.ELU(), nn.Dropout(0.5))
        self.coordinates = nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 4)) if coordinates else None
        self.head = nn.Sequential(
            nn.Linear(8 + (4 if coordinates else 0), 64),
            nn.ELU(),
            nn.Dropout(0.2),
            nn.Linear(64, 16),
            nn.ELU(),
            nn.Dropout(0.2),
            nn.Linear(16, 1),
            nn.Tanh(),
        )

    def last_maps(self, spectra: Tensor) -> tuple[Tensor, Tensor]:
        """Last convolution's ReLU maps (batch, 16, channel - 6, obs / 4), 0 where unobserved, and that mask."""
        values, mask = masked_values(spectra)
        maps = torch.cat([values, mask], 1)
        observed = mask.amax(dim=2, keepdim=True)  # an observation exists where any of its channels does
        for index, conv in enumerate(self.convs):
            if index:
                maps, observed = self.pool(maps), self.pool(observed)
            maps = torch.where(observed > 0, torch.relu(conv(maps)), torch.zeros(()))
        return maps, observed

    def features(self, spectra: Tensor) -> Tensor:
        """Flattened pooled maps of the spectral branch (batch, 16 x (channel - 6) x (observation / 8))."""
        return self.pool(self.last_maps(spectra)[0]).flatten(1)

    def forward(self, spectra: Tensor, coords: Tensor | None = None) -> Tensor:
        """spectra (batch, 2, channel, observation): values and observed mask; coords (batch, 2) -> (batch,)."""
        features = self.spectral_dense(self.features(spectra))
        if self.coordinates is not None:
            features = torch.cat([features, self.coordinates(coords)], 1)
        return self.head(features).squeeze(-1)

    def l2_weights(self) -> list[Tensor]:
        """Kernels carrying the paper's L2 penalty (the spectral dense and the two hidden head layers)."""
        return [
            cast(nn.Linear, self.spectral_dense[0]).weight,
            cast(nn.Linear, self.head[0]).weight,
            cast(nn.Linear, self.head[3]).weight,
        ]


class Ann(nn.Module):
    """The paper's ANN: dense 8, dense 32 ELU, dense 8 ELU (dropout 0.2 each), tanh output.

    With `masked`, the input is (batch, 2, feature): values and their 0/1 observed mask; the values are
    zeroed where unobserved and the mask enters as indicator inputs beside them.
    """

    def __init__(self, n_inputs: int, masked: bool = False):
        super().__init__()
        self.masked = masked
        self.net = nn.Sequential(
            nn.Linear(n_inputs * (2 if masked else 1), 8),
            nn.Linear(8, 32),
            nn.ELU(),
            nn.Dropout(0.2),
            nn.Linear(32, 8),
            nn.ELU(),
            nn.Dropout(0.2),
            nn.Linear(8, 1),
            nn.Tanh(),
        )

    def forward(self, x: Tensor, coords: Tensor | None = None) -> Tensor:
        """(batch, feature), or (batch, 2, feature) when masked -> (batch,)."""
        if self.masked:
            values, mask = masked_values(x)
            x = torch.cat([values, mask], 1).flatten(1)
        return self.net(x).squeeze(-1)

    def l2_weights(self) -> list[Tensor]:
        """Kernels carrying the L2 penalty (the two regularised hidden layers)."""
        return [cast(nn.Linear, self.net[1]).weight, cast(nn.Linear, self.net[4]).weight]


ModelT = TypeVar("ModelT", MultiInputCnn, Ann)


def train_model(
    model: ModelT,
    inputs: Tensor,
    coords: Tensor | None,
    target: Tensor,
    settings: NetworkSettings,
    seed: int,
    progress: Callable[[int, float], None] | None = None,
) -> ModelT:
    """Adam with mini-batches on a target already scaled to [-1, 1]; MSE plus the L2 penalty.

    `progress(epoch, mean_mse)` is called after every epoch (epochs count from 1).
    """
    if len(target) == 0:
        raise ValueError("empty training set")
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    model.train()
    for epoch in range(1, settings.epochs + 1):
        order = torch.randperm(len(target), generator=generator)
        total = 0.0
        for start in range(0, len(order), settings.batch_size):
            idx = order[start : start + settings.batch_size]
            predicted = model(inputs[idx], None if coords is None else coords[idx])
            mse = nn.functional.mse_loss(predicted, target[idx])
            loss = mse + settings.l2 * sum((w**2).sum() for w in model.l2_weights())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += mse.item() * len(idx)
        if progress is not None:
            progress(epoch, total / len(order))
    return model.eval()
