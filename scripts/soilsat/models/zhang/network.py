"""Zhang et al. (2022) CNN-LSTM for soil organic carbon (Tables 2 and 3).

The CNN branch reads k x k windows of the climate and terrain covariates: 3 x 3 convolutions of 32 and 64
filters with ReLU, each followed by 2 x 2 max pooling, and a dense layer of 128 with ReLU (Table 2); the
convolutions pad by one pixel so that the paper's 5 x 5 windows survive the two poolings (5 -> 2 -> 1). The
LSTM branch (2 layers x 32 units, Table 3) reads the yearly series. Dropout layers (section 3.1.3, rate not
published) follow the CNN's dense layer and sit between the LSTM layers and on its last hidden state. The
features are concatenated into a linear output. Trained with MSE and Adam.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from soilsat.settings import Settings


@dataclass(frozen=True)
class CnnLstmSettings(Settings):
    """The network's LSTM branch, dropout and training, MSE with Adam (config train.zhang)."""

    epochs: int
    batch_size: int
    learning_rate: float
    units: int
    layers: int
    dropout: float


class CnnLstm(nn.Module):
    """CNN branch on (batch, covariate, k, k) and LSTM branch on (batch, year, feature) -> (batch,)."""

    def __init__(self, n_static: int, n_dynamic: int, window: int, units: int, layers: int, dropout: float):
        super().__init__()
        side = (window // 2) // 2
        self.cnn = nn.Sequential(
            nn.Conv2d(n_static, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * side * side, 128),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.lstm = (
            nn.LSTM(n_dynamic, units, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
            if n_dynamic
            else None
        )
        self.lstm_dropout = nn.Dropout(dropout)
        self.out = nn.Linear(128 + (units if n_dynamic else 0), 1)

    def forward(self, windows: Tensor, series: Tensor | None = None) -> Tensor:
        """Predicted target per sample."""
        features = self.cnn(windows)
        if self.lstm is not None and series is not None:
            features = torch.cat([features, self.lstm_dropout(self.lstm(series)[0][:, -1])], 1)
        return self.out(features).squeeze(-1)


def train_model(
    model: CnnLstm,
    windows: Tensor,
    series: Tensor | None,
    target: Tensor,
    settings: CnnLstmSettings,
    seed: int,
    progress: Callable[[int, float], None] | None = None,
) -> CnnLstm:
    """MSE with Adam over shuffled mini-batches; `progress(epoch, mean_mse)` is called after every epoch."""
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
            loss = nn.functional.mse_loss(model(windows[idx], None if series is None else series[idx]), target[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
        if progress is not None:
            progress(epoch, total / len(order))
    return model.eval()
