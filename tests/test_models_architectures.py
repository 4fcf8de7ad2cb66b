"""Layer shapes and parameter counts of the papers' networks, counted by hand."""

import numpy as np
import pytest
import torch

from soilsat.models import tsagkatakis, tziolas, zhang
from soilsat.models.splits import bags, k_fold, kennard_stone, kennard_stone_split


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_tziolas_cnn_matches_table_3():
    model = tziolas.MultiInputCnn().eval()
    x = torch.randn(2, 12, 150)
    shapes = []
    h = x.unsqueeze(1)
    for layer in model.spectral:
        h = layer(h)
        shapes.append(tuple(h.shape[1:]))
    # conv 16 (12->10 channels), pool (150->75), conv 64 (10->8), pool (75->37), conv 16 (8->6), pool (37->18)
    assert shapes[2] == (16, 10, 75) and shapes[5] == (64, 8, 37) and shapes[8] == (16, 6, 18) and shapes[9] == (1728,)
    expected = (16 * 3 + 16) + (64 * 16 * 3 + 64) + (16 * 64 * 3 + 16)  # convolutions
    expected += 1728 * 8 + 8  # dense 8 after flatten
    expected += (2 * 8 + 8) + (8 * 4 + 4)  # auxiliary branch
    expected += (12 * 64 + 64) + (64 * 16 + 16) + (16 + 1)  # head
    assert count(model) == expected == 22069
    out = model(x, torch.randn(2, 2))
    assert out.shape == (2,) and out.abs().max() <= 1
    no_coords = tziolas.MultiInputCnn(coordinates=False)
    assert count(no_coords) == expected - (2 * 8 + 8) - (8 * 4 + 4) - 4 * 64
    no_sar = tziolas.MultiInputCnn(n_channels=10)
    assert no_sar(torch.randn(3, 10, 150), torch.randn(3, 2)).shape == (3,)
    assert count(no_sar) == expected - 1728 * 8 + 16 * 4 * 18 * 8


def test_tziolas_ann_counts():
    model = tziolas.MedianAnn(12)
    assert count(model) == (12 * 8 + 8) + (8 * 32 + 32) + (32 * 8 + 8) + (8 + 1)


def test_zhang_cnn_lstm_tables_2_and_3():
    model = zhang.CnnLstm(n_static=10, n_dynamic=12)
    cnn = (10 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (64 * 128 + 128)
    lstm = 4 * 32 * (12 + 32 + 2) + 4 * 32 * (32 + 32 + 2)  # torch counts two biases
    assert count(model) == cnn + lstm + (128 + 32 + 1)
    assert model(torch.randn(4, 10, 5, 5), torch.randn(4, 10, 12)).shape == (4,)


def test_tsagkatakis_fusion_network_and_loss():
    model = tsagkatakis.FusionCnn()
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


def test_kennard_stone_picks_extremes_and_never_overlaps():
    x = np.array([[0.0], [10.0], [5.0], [4.9], [1.0], [9.0]])
    chosen = kennard_stone(x, 3)
    assert list(chosen[:2]) in ([0, 1], [1, 0]) and chosen[2] in (2, 3)
    rng = np.random.default_rng(0)
    calibration, test = kennard_stone_split(rng.normal(size=(50, 4)), 0.8)
    assert len(calibration) == 40 and len(test) == 10
    assert not set(calibration) & set(test) and len(set(calibration) | set(test)) == 50


def test_k_fold_and_bags():
    folds = k_fold(23, 5, 2, seed=0)
    for repeat in (0, 1):
        tests = np.concatenate([f.test for f in folds if f.repeat == repeat])
        assert sorted(tests) == list(range(23))
    assert all(not set(f.train) & set(f.test) for f in folds)
    for bag in bags(range(10), 5, 0.8, seed=0):
        assert len(bag) == 8 == len(set(bag))


def test_tziolas_bagged_training_is_deterministic():
    rng = np.random.default_rng(1)
    spectra = rng.normal(size=(20, 12, 16)).astype(np.float32)
    coords = rng.normal(size=(20, 2)).astype(np.float32)
    target = np.tanh(spectra.mean(axis=(1, 2)))
    settings = tziolas.CnnSettings(epochs=2, bags=2)
    run = lambda seed: tziolas.bagged_predictions(lambda: tziolas.MultiInputCnn(n_observations=16), spectra, coords,
                                                  target, np.arange(15), np.arange(15, 20), settings, seed)
    np.testing.assert_array_equal(run(1), run(1))
    assert not np.allclose(run(1), run(2))
