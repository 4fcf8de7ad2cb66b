"""Zhang et al. (2022) CNN-LSTM: parameters of Tables 2 and 3 counted by hand."""

import torch

from network_helpers import count
from soilsat.models.zhang import network as zhang


def test_zhang_cnn_lstm_tables_2_and_3():
    model = zhang.CnnLstm(n_static=10, n_dynamic=12, window=5, units=32, layers=2, dropout=0.25)
    cnn = (10 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (64 * 128 + 128)
    lstm = 4 * 32 * (12 + 32 + 2) + 4 * 32 * (32 + 32 + 2)  # torch counts two biases
    assert count(model) == cnn + lstm + (128 + 32 + 1)
    assert model(torch.randn(4, 10, 5, 5), torch.randn(4, 10, 12)).shape == (4,)


def test_dropout_acts_in_training_only():
    model = zhang.CnnLstm(n_static=10, n_dynamic=12, window=5, units=32, layers=2, dropout=0.5)
    assert model.lstm is not None and model.lstm.dropout == 0.5
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in model.cnn)
    windows, series = torch.randn(8, 10, 5, 5), torch.randn(8, 10, 12)
    model.eval()
    assert torch.equal(model(windows, series), model(windows, series))
    model.train()
    assert not torch.equal(model(windows, series), model(windows, series))
