"""Tziolas et al. (2020) multi-input CNN for topsoil clay, its ANN baseline and its training rules.

Table 3 of the paper convolves across the 12 spectral channels (kernel 3 x 1, no padding: 12 -> 10 -> 8
-> 6 channels) while keeping the observation axis (pooled 150 -> 75 -> 37 -> 18), so the branch is a
2-D convolution over (channel, observation) with kernels (3, 1) and pooling (1, 2); flatten gives
16 x 6 x 18 = 1728 values for 150 observations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from soilsat.models.splits import bags


@dataclass(frozen=True)
class CnnSettings:
    """Training settings of the paper (Adam, batch 8, 100 epochs, L2 0.002, 5 bags of 80 %)."""

    epochs: int = 100
    batch_size: int = 8
    learning_rate: float = 1e-3
    l2: float = 0.002
    bags: int = 5
    bag_fraction: float = 0.8


class MultiInputCnn(nn.Module):
    """Spectral branch (12 channels x observations) + coordinate branch, tanh output in [-1, 1]."""

    def __init__(self, n_channels: int = 12, n_observations: int = 150, coordinates: bool = True):
        super().__init__()
        self.spectral = nn.Sequential(
            nn.Conv2d(1, 16, (3, 1)), nn.ReLU(), nn.MaxPool2d((1, 2)),
            nn.Conv2d(16, 64, (3, 1)), nn.ReLU(), nn.MaxPool2d((1, 2)),
            nn.Conv2d(64, 16, (3, 1)), nn.ReLU(), nn.MaxPool2d((1, 2)),
            nn.Flatten(),
        )
        flat = 16 * (n_channels - 6) * (n_observations // 8)
        self.spectral_dense = nn.Sequential(nn.Linear(flat, 8), nn.ELU(), nn.Dropout(0.5))
        self.coordinates = nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 4)) if coordinates else None
        self.head = nn.Sequential(
            nn.Linear(8 + (4 if coordinates else 0), 64), nn.ELU(), nn.Dropout(0.2),
            nn.Linear(64, 16), nn.ELU(), nn.Dropout(0.2),
            nn.Linear(16, 1), nn.Tanh(),
        )

    def forward(self, spectra: Tensor, coords: Tensor | None = None) -> Tensor:
        """spectra (batch, channel, observation), coords (batch, 2) -> (batch,)."""
        features = self.spectral_dense(self.spectral(spectra.unsqueeze(1)))
        if self.coordinates is not None:
            features = torch.cat([features, self.coordinates(coords)], 1)
        return self.head(features).squeeze(-1)

    def l2_weights(self) -> list[Tensor]:
        """Kernels carrying the paper's L2 penalty (the spectral dense and the two hidden head layers)."""
        return [self.spectral_dense[0].weight, self.head[0].weight, self.head[3].weight]


class MedianAnn(nn.Module):
    """The paper's ANN on median spectra (optionally with coordinates): dense 8, dense 32 ELU, dense 8, tanh."""

    def __init__(self, n_inputs: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_inputs, 8),
            nn.Linear(8, 32), nn.ELU(), nn.Dropout(0.2),
            nn.Linear(32, 8), nn.ELU(), nn.Dropout(0.2),
            nn.Linear(8, 1), nn.Tanh(),
        )

    def forward(self, x: Tensor, coords: Tensor | None = None) -> Tensor:
        """(batch, feature) -> (batch,)."""
        return self.net(x).squeeze(-1)

    def l2_weights(self) -> list[Tensor]:
        """Kernels carrying the L2 penalty (the two regularised hidden layers)."""
        return [self.net[1].weight, self.net[4].weight]


def train_model(model: nn.Module, inputs: Tensor, coords: Tensor | None, target: Tensor, settings: CnnSettings,
                seed: int, progress: Callable[[int, float], None] | None = None) -> nn.Module:
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
            idx = order[start:start + settings.batch_size]
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


def bagged_predictions(build, inputs: np.ndarray, coords: np.ndarray | None, target_scaled: np.ndarray,
                       calibration: np.ndarray, test: np.ndarray, settings: CnnSettings, seed: int) -> np.ndarray:
    """Mean prediction (scaled units) on the test samples of models trained on bags of the calibration set."""
    x = torch.tensor(inputs, dtype=torch.float32)
    c = None if coords is None else torch.tensor(coords, dtype=torch.float32)
    y = torch.tensor(target_scaled, dtype=torch.float32)
    outputs = []
    for b, bag in enumerate(bags(calibration, settings.bags, settings.bag_fraction, seed)):
        torch.manual_seed(seed + b)
        model = train_model(build(), x[bag], None if c is None else c[bag], y[bag], settings, seed + b)
        with torch.no_grad():
            outputs.append(model(x[test], None if c is None else c[test]).numpy())
    return np.mean(outputs, axis=0)
