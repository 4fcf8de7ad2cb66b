"""The batched-ensemble LSTM of Simonsen (2021): architecture, gradients, masking and scaling."""

import numpy as np
import pytest
import torch

from network_helpers import stacked_from_modules, thesis_lstm, thesis_settings
from soilsat.models.simonsen import lstm
from soilsat.models.splits import leave_one_probe_out


def test_parameter_count_matches_the_thesis_network():
    # Keras LSTM: 4 gates x units x (inputs + units + 1 bias); dense 16 -> 1
    n_inputs = 20
    expected = 4 * 16 * (20 + 16 + 1) + 4 * 16 * (16 + 16 + 1) + (16 + 1)
    assert expected == 4497
    assert lstm.keras_parameter_count(n_inputs, 16, 2) == expected
    torch_count = sum(p.numel() for p in thesis_lstm(n_inputs).parameters())
    assert torch_count == expected + 2 * 4 * 16  # torch keeps two bias vectors per layer
    params = lstm.init_weights(leave_one_probe_out(3, 1, 0.0, 0)[:1], n_inputs, thesis_settings(), 0)
    assert sum(p[0].numel() for p in params.values()) == expected
    assert params["w_ih0"].shape == (1, 20, 64) and params["w_hh1"].shape == (1, 16, 64)


def test_ensemble_forward_and_gradients_equal_torch_lstm_per_member():
    torch.manual_seed(0)
    members, steps, n_inputs = 3, 9, 4
    modules = [thesis_lstm(n_inputs).eval() for _ in range(members)]
    x = torch.randn(members, steps, n_inputs)
    target = torch.randn(members, steps)
    valid = torch.rand(members, steps) > 0.3
    params = stacked_from_modules(modules)
    predicted, state = lstm.forward(params, x.transpose(0, 1).contiguous())
    loss, d_y = lstm.masked_mae(predicted, target.T, valid.T)
    grads = lstm.backward(params, state, d_y, recurrent_l2=0.0)
    for e, module in enumerate(modules):
        out = module(x[e : e + 1])[0]
        np.testing.assert_allclose(predicted[:, e].numpy(), out.detach().numpy(), atol=1e-6)
        reference = (out - target[e]).abs()[valid[e]].mean()
        np.testing.assert_allclose(float(loss[e]), float(reference.detach()), rtol=1e-6)
        reference.backward()
        for layer, cell in enumerate(module.lstms):
            np.testing.assert_allclose(grads[f"w_ih{layer}"][e].numpy(), cell.weight_ih_l0.grad.T.numpy(), atol=1e-6)
            np.testing.assert_allclose(grads[f"w_hh{layer}"][e].numpy(), cell.weight_hh_l0.grad.T.numpy(), atol=1e-6)
            np.testing.assert_allclose(grads[f"b{layer}"][e, 0].numpy(), cell.bias_ih_l0.grad.numpy(), atol=1e-6)
        np.testing.assert_allclose(grads["w_out"][e, :, 0].numpy(), module.out.weight.grad[0].numpy(), atol=1e-6)


def test_recurrent_l2_adds_its_gradient():
    torch.manual_seed(1)
    params = stacked_from_modules([thesis_lstm(2).eval()])
    x = torch.randn(5, 1, 2)
    _, state = lstm.forward(params, x)
    d_y = torch.zeros(5, 1)
    plain = lstm.backward(params, state, d_y, 0.0)
    with_l2 = lstm.backward(params, state, d_y, 1e-4)
    np.testing.assert_allclose((with_l2["w_hh0"] - plain["w_hh0"]).numpy(), (2e-4 * params["w_hh0"]).numpy(), atol=1e-9)
    np.testing.assert_array_equal(with_l2["w_ih0"].numpy(), plain["w_ih0"].numpy())


def test_masked_loss_ignores_gaps():
    predicted = torch.tensor([[1.0], [2.0], [50.0], [4.0]])
    target = torch.tensor([[0.0], [0.0], [float("nan")], [0.0]])
    valid = torch.isfinite(target)
    loss, grad = lstm.masked_mae(predicted, torch.nan_to_num(target), valid)
    assert float(loss[0]) == pytest.approx((1 + 2 + 4) / 3)
    assert float(grad[2, 0]) == 0.0
    changed, _ = lstm.masked_mae(
        predicted.clone().index_fill_(0, torch.tensor([2]), -7.0), torch.nan_to_num(target), valid
    )
    assert float(changed[0]) == float(loss[0])


def test_scaling_statistics_use_only_training_probes():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(5, 6, 2)).astype(np.float32)
    target = rng.normal(size=(5, 6)).astype(np.float32)
    observed = np.zeros((5, 6, 0), np.float32)
    folds = leave_one_probe_out(5, 2, 0.25, seed=3)
    before = lstm.member_data(inputs, observed, target, folds, "cpu")
    fold = folds[0]
    changed_inputs, changed_target = inputs.copy(), target.copy()
    for probe in (*fold.test, *fold.validation):
        changed_inputs[probe] += 1000.0
        changed_target[probe] -= 500.0
    after = lstm.member_data(changed_inputs, observed, changed_target, folds, "cpu")
    for name in ("mean", "std", "y_mean", "y_std"):
        np.testing.assert_array_equal(getattr(before, name)[0].numpy(), getattr(after, name)[0].numpy())
    expected_mean = inputs[fold.train].reshape(-1, 2).mean(0)
    np.testing.assert_allclose(before.mean[0].numpy(), expected_mean, rtol=1e-5)
    # a member whose training set holds the changed probe sees the change
    other = next(i for i, f in enumerate(folds) if fold.test[0] in f.train)
    assert not np.allclose(before.mean[other].numpy(), after.mean[other].numpy())
