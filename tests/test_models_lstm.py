"""The batched-ensemble LSTM of Simonsen (2021): architecture, gradients, masking and the protocol."""

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from soilsat.errors import ConfigError
from soilsat.models import lstm, lstm_cpu
from soilsat.models.lstm import LstmSettings, SimonsenLstm
from soilsat.models.splits import leave_one_probe_out


def stacked_from_modules(modules: list[SimonsenLstm]) -> dict[str, torch.Tensor]:
    """The ensemble's stacked weights holding the weights of plain modules, one per member."""
    params = {}
    for layer in range(len(modules[0].lstms)):
        cells = [m.lstms[layer] for m in modules]
        params[f"w_ih{layer}"] = torch.stack([c.weight_ih_l0.detach().T for c in cells])
        params[f"w_hh{layer}"] = torch.stack([c.weight_hh_l0.detach().T for c in cells])
        params[f"b{layer}"] = torch.stack([(c.bias_ih_l0 + c.bias_hh_l0).detach()[None] for c in cells])
    params["w_out"] = torch.stack([m.out.weight.detach().T for m in modules])
    params["b_out"] = torch.stack([m.out.bias.detach().view(1, 1) for m in modules])
    return params


def test_parameter_count_matches_the_thesis_network():
    # Keras LSTM: 4 gates x units x (inputs + units + 1 bias); dense 16 -> 1
    n_inputs = 20
    expected = 4 * 16 * (20 + 16 + 1) + 4 * 16 * (16 + 16 + 1) + (16 + 1)
    assert expected == 4497
    assert lstm.keras_parameter_count(n_inputs) == expected
    torch_count = sum(p.numel() for p in SimonsenLstm(n_inputs).parameters())
    assert torch_count == expected + 2 * 4 * 16  # torch keeps two bias vectors per layer
    params = lstm.init_weights(leave_one_probe_out(3, 1, 0.0, 0)[:1], n_inputs, LstmSettings(), 0)
    assert sum(p[0].numel() for p in params.values()) == expected
    assert params["w_ih0"].shape == (1, 20, 64) and params["w_hh1"].shape == (1, 16, 64)


def test_ensemble_forward_and_gradients_equal_torch_lstm_per_member():
    torch.manual_seed(0)
    members, steps, n_inputs = 3, 9, 4
    modules = [SimonsenLstm(n_inputs).eval() for _ in range(members)]
    x = torch.randn(members, steps, n_inputs)
    target = torch.randn(members, steps)
    valid = torch.rand(members, steps) > 0.3
    params = stacked_from_modules(modules)
    predicted, state = lstm.forward(params, x.transpose(0, 1).contiguous())
    loss, d_y = lstm.masked_mae(predicted, target.T, valid.T)
    grads = lstm.backward(params, state, d_y, recurrent_l2=0.0)
    for e, module in enumerate(modules):
        out = module(x[e:e + 1])[0]
        np.testing.assert_allclose(predicted[:, e].numpy(), out.detach().numpy(), atol=1e-6)
        reference = (out - target[e]).abs()[valid[e]].mean()
        np.testing.assert_allclose(float(loss[e]), float(reference.detach()), rtol=1e-6)
        reference.backward()
        for layer, cell in enumerate(module.lstms):
            np.testing.assert_allclose(grads[f"w_ih{layer}"][e].numpy(), cell.weight_ih_l0.grad.T.numpy(), atol=1e-6)
            np.testing.assert_allclose(grads[f"w_hh{layer}"][e].numpy(), cell.weight_hh_l0.grad.T.numpy(), atol=1e-6)
            np.testing.assert_allclose(grads[f"b{layer}"][e, 0].numpy(), cell.bias_ih_l0.grad.numpy(), atol=1e-6)
        np.testing.assert_allclose(grads["w_out"][e, :, 0].numpy(), module.out.weight.grad[0].numpy(), atol=1e-6)


def test_cpu_kernels_equal_the_torch_ensemble_with_dropout_and_l2():
    torch.manual_seed(3)
    members, steps, n_inputs = 4, 23, 6
    params = stacked_from_modules([SimonsenLstm(n_inputs).eval() for _ in range(members)])
    x = torch.randn(steps, members, n_inputs)
    masks = [torch.empty(steps, members, 16).bernoulli_(0.9) / 0.9 for _ in range(2)]
    target, valid = torch.randn(steps, members), torch.rand(steps, members) > 0.2
    predicted, state = lstm.forward(params, x, masks)
    _, d_y = lstm.masked_mae(predicted, target, valid)
    reference = lstm.backward(params, state, d_y, recurrent_l2=1e-2)
    member_major = [m.transpose(0, 1).contiguous().numpy() for m in masks]
    predicted_cpu, state_cpu = lstm_cpu.forward(params, x.transpose(0, 1).contiguous().numpy(), member_major)
    np.testing.assert_allclose(predicted_cpu.T, predicted.numpy(), atol=2e-6)
    grads = lstm_cpu.backward(params, state_cpu, d_y.T.contiguous().numpy(), recurrent_l2=1e-2)
    assert set(grads) == set(reference)
    for name, grad in reference.items():
        assert grads[name].shape == grad.shape, name
        np.testing.assert_allclose(grads[name].numpy(), grad.numpy(), atol=2e-6, err_msg=name)
    # without dropout masks too, as predictions are made
    np.testing.assert_allclose(lstm_cpu.forward(params, x.transpose(0, 1).contiguous().numpy())[0].T,
                               lstm.forward(params, x)[0].numpy(), atol=2e-6)


def test_recurrent_l2_adds_its_gradient():
    torch.manual_seed(1)
    params = stacked_from_modules([SimonsenLstm(2).eval()])
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
    changed, _ = lstm.masked_mae(predicted.clone().index_fill_(0, torch.tensor([2]), -7.0),
                                 torch.nan_to_num(target), valid)
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


def test_cpu_batch_equals_the_torch_batch_member_major():
    rng = np.random.default_rng(4)
    inputs = rng.normal(size=(6, 9, 3)).astype(np.float32)
    inputs[:, ::2, 0] = np.nan
    observed = (~np.isnan(inputs[:, :, :1])).astype(np.float32)
    target = rng.normal(size=(6, 9)).astype(np.float32)
    target[:, 1::3] = np.nan
    folds = leave_one_probe_out(6, 2, 0.2, seed=1)
    data = lstm.member_data(inputs, observed, target, folds, "cpu")
    probes = np.array([f.train[1] for f in folds])
    x, y, valid = data.batch(torch.as_tensor(probes))
    workspace = lstm_cpu.Workspace()
    x_m, y_m, valid_m = data.member_batch(probes, workspace)
    np.testing.assert_allclose(x_m, x.transpose(0, 1).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(valid_m, valid.T.numpy())
    np.testing.assert_allclose(y_m[valid_m], y.T.numpy()[valid_m], rtol=1e-6)
    assert x_m.shape == (len(folds), 9, 4) and not np.isnan(x_m).any()
    again = data.member_batch(probes[::-1].copy(), workspace)[0]
    assert again is x_m  # the workspace's array, refilled
    np.testing.assert_allclose(again, data.batch(torch.as_tensor(probes[::-1].copy()))[0].transpose(0, 1).numpy(),
                               rtol=1e-6)


def test_dropout_masks_keep_their_share_and_depend_only_on_the_member():
    folds, repeats = np.arange(5), np.array([0, 0, 1, 1, 2])
    masks = lstm_cpu.dropout_masks(7, folds, repeats, 3, (400, 16), 0.9, "m")
    assert masks.shape == (5, 400, 16)
    assert set(np.unique(masks)) == {np.float32(0.0), np.float32(1 / 0.9)}
    kept = (masks > 0).mean(axis=(1, 2))
    # 6,400 draws per member: the kept share is within 5 binomial standard deviations of 0.9
    assert np.all(np.abs(kept - 0.9) < 5 * np.sqrt(0.9 * 0.1 / 6400))
    alone = lstm_cpu.dropout_masks(7, folds[2:3], repeats[2:3], 3, (400, 16), 0.9, "m")
    np.testing.assert_array_equal(alone[0], masks[2])  # a member's mask does not depend on the others
    assert not np.array_equal(masks[0], masks[1])
    assert not np.array_equal(lstm_cpu.dropout_masks(7, folds, repeats, 4, (400, 16), 0.9, "m")[0], masks[0])
    assert not np.array_equal(lstm_cpu.dropout_masks(8, folds, repeats, 3, (400, 16), 0.9, "m")[0], masks[0])


def test_workspace_reuse_gives_the_same_gradients():
    torch.manual_seed(5)
    members, steps, n_inputs = 3, 11, 5
    params = stacked_from_modules([SimonsenLstm(n_inputs).eval() for _ in range(members)])
    workspace = lstm_cpu.Workspace()
    results = []
    for seed in (0, 1, 0):
        x = np.random.default_rng(seed).normal(size=(members, steps, n_inputs)).astype(np.float32)
        masks = [lstm_cpu.dropout_masks(seed, np.arange(members), np.zeros(members), layer, (steps, 16), 0.9,
                                        f"mask{layer}", workspace) for layer in range(2)]
        predicted, state = lstm_cpu.forward(params, x, masks, workspace)
        grads = lstm_cpu.backward(params, state, np.sign(predicted), 1e-4)
        results.append((predicted.copy(), {k: v.numpy().copy() for k, v in grads.items()}))
        fresh_masks = [m.copy() for m in masks]
        fresh_predicted, fresh_state = lstm_cpu.forward(params, x.copy(), fresh_masks)
        fresh = lstm_cpu.backward(params, fresh_state, np.sign(fresh_predicted), 1e-4)
        np.testing.assert_array_equal(fresh_predicted, predicted)
        for name, grad in fresh.items():
            np.testing.assert_array_equal(grad.numpy(), results[-1][1][name], err_msg=name)
    np.testing.assert_array_equal(results[0][0], results[2][0])
    assert not np.array_equal(results[0][0], results[1][0])
