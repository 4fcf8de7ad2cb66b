"""The CPU path of the LSTM ensemble: compiled kernels equal the torch ensemble, batches, dropout masks, workspace."""

import numpy as np
import torch

from network_helpers import stacked_from_modules, thesis_lstm
from soilsat.models.simonsen import lstm, lstm_cpu
from soilsat.models.splits import leave_one_probe_out


def test_cpu_kernels_equal_the_torch_ensemble_with_dropout_and_l2():
    torch.manual_seed(3)
    members, steps, n_inputs = 4, 23, 6
    params = stacked_from_modules([thesis_lstm(n_inputs).eval() for _ in range(members)])
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
    np.testing.assert_allclose(
        lstm_cpu.forward(params, x.transpose(0, 1).contiguous().numpy())[0].T,
        lstm.forward(params, x)[0].numpy(),
        atol=2e-6,
    )


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
    np.testing.assert_allclose(
        again, data.batch(torch.as_tensor(probes[::-1].copy()))[0].transpose(0, 1).numpy(), rtol=1e-6
    )


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
    params = stacked_from_modules([thesis_lstm(n_inputs).eval() for _ in range(members)])
    workspace = lstm_cpu.Workspace()
    results = []
    for seed in (0, 1, 0):
        x = np.random.default_rng(seed).normal(size=(members, steps, n_inputs)).astype(np.float32)
        masks = [
            lstm_cpu.dropout_masks(
                seed, np.arange(members), np.zeros(members), layer, (steps, 16), 0.9, f"mask{layer}", workspace
            )
            for layer in range(2)
        ]
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
