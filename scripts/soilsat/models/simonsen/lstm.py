"""Simonsen (2021) sequence-to-sequence LSTM, trained as a batched ensemble of independent members.

Every member of a protocol (one fold x repeat) keeps its own weights, data, dropout masks and
batch-size-1 Adam updates, but all members advance together: the recurrences run as batched
matrix products over stacked per-member weights (torch.baddbmm), with the backward pass through
time written out by hand (on the CPU, each layer's whole recurrence runs as one compiled loop per member:
:mod:`soilsat.models.simonsen.lstm_cpu`). A hand-written backward is used because autograd would record about
ten graph nodes per time step and layer (883 steps x 2 layers) whose bookkeeping dominates this
tiny network; here the per-step work is six fused tensor operations, and the weight gradients are
accumulated after the loop as a few large batched products. `SimonsenLstm` is the same network as
a plain torch.nn module: the reference the ensemble is tested and benchmarked against.

Dropout masks: on the CPU each member draws its own counter-based stream keyed by (seed, fold,
repeat, update), so a member trains the same whichever members share its ensemble; on a GPU they
come from one torch generator over the whole ensemble.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from soilsat.models.scaling import standard_stats
from soilsat.models.seeding import member_rng
from soilsat.models.simonsen import lstm_cpu
from soilsat.models.splits import Fold
from soilsat.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LstmSettings(Settings):
    """Hyperparameters of the Simonsen (2021) network and protocol (config train.lstm; the paper's in the schema)."""

    units: int
    layers: int
    dropout: float
    recurrent_l2: float
    base_lr: float
    max_lr: float
    step_size: int
    beta1: float
    beta2: float
    eps: float
    epochs: int
    repeats: int
    validation_fraction: float


class SimonsenLstm(nn.Module):
    """Stacked LSTM (dropout after each layer) and a dense output per time step, as a plain module."""

    def __init__(self, n_inputs: int, units: int, layers: int, dropout: float):
        super().__init__()
        self.lstms = nn.ModuleList(
            nn.LSTM(n_inputs if i == 0 else units, units, batch_first=True) for i in range(layers)
        )
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(units, 1)

    def forward(self, x: Tensor) -> Tensor:
        """(batch, time, feature) -> (batch, time)."""
        for lstm in self.lstms:
            x = self.drop(lstm(x)[0])
        return self.out(x).squeeze(-1)


def keras_parameter_count(n_inputs: int, units: int, layers: int) -> int:
    """Trainable parameters of the network with one bias per gate, as Keras (and the ensemble) count them."""
    total, width = 0, n_inputs
    for _ in range(layers):
        total += 4 * units * (width + units + 1)
        width = units
    return total + units + 1


def init_weights(folds: Sequence[Fold], n_inputs: int, settings: LstmSettings, seed: int) -> dict[str, Tensor]:
    """Stacked member weights with Keras' initialisers: Glorot-uniform inputs, orthogonal recurrences, forget bias 1."""
    h = settings.units
    names = [f"{kind}{layer}" for layer in range(settings.layers) for kind in ("w_ih", "w_hh", "b")]
    names += ["w_out", "b_out"]
    stacks: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for fold in folds:
        rng = member_rng(seed, fold.fold, fold.repeat)
        width = n_inputs
        for layer in range(settings.layers):
            limit = np.sqrt(6.0 / (width + 4 * h))
            stacks[f"w_ih{layer}"].append(rng.uniform(-limit, limit, (width, 4 * h)))
            q, r = np.linalg.qr(rng.standard_normal((4 * h, h)))
            stacks[f"w_hh{layer}"].append((q * np.sign(np.diag(r))).T)
            bias = np.zeros((1, 4 * h))
            bias[0, h : 2 * h] = 1.0
            stacks[f"b{layer}"].append(bias)
            width = h
        limit = np.sqrt(6.0 / (h + 1))
        stacks["w_out"].append(rng.uniform(-limit, limit, (h, 1)))
        stacks["b_out"].append(np.zeros((1, 1)))
    return {name: torch.tensor(np.stack(arrays), dtype=torch.float32) for name, arrays in stacks.items()}


def _layer_forward(x: Tensor, w_ih: Tensor, w_hh: Tensor, b: Tensor) -> dict[str, Tensor]:
    """One LSTM layer over (time, member, feature); gate order i, f, g, o as in torch."""
    steps, members, _ = x.shape
    h = w_hh.shape[1]
    pre = torch.baddbmm(b, x.transpose(0, 1), w_ih).transpose(0, 1).contiguous()
    gates = torch.empty(steps, members, 4 * h, device=x.device)
    cand = torch.empty(steps, members, h, device=x.device)
    cell = torch.empty(steps, members, h, device=x.device)
    tcell = torch.empty(steps, members, h, device=x.device)
    out = torch.empty(steps, members, h, device=x.device)
    h_prev = torch.zeros(members, 1, h, device=x.device)
    c_prev = torch.zeros(members, h, device=x.device)
    for t in range(steps):
        z = torch.baddbmm(pre[t].unsqueeze(1), h_prev, w_hh).squeeze(1)
        s = torch.sigmoid(z, out=gates[t])
        g = torch.tanh(z[:, 2 * h : 3 * h], out=cand[t])
        c = torch.mul(s[:, h : 2 * h], c_prev, out=cell[t]).addcmul_(s[:, :h], g)
        tc = torch.tanh(c, out=tcell[t])
        h_now = torch.mul(s[:, 3 * h :], tc, out=out[t])
        h_prev, c_prev = h_now.unsqueeze(1), c
    return {"x": x, "gates": gates, "cand": cand, "cell": cell, "tcell": tcell, "out": out}


def _layer_backward(cache: dict[str, Tensor], w_ih: Tensor, w_hh: Tensor, d_out: Tensor) -> tuple[Tensor, ...]:
    """Gradients (input, w_ih, w_hh, b) of one layer by backpropagation through time."""
    gates, cand, cell, tcell, out, x = (cache[k] for k in ("gates", "cand", "cell", "tcell", "out", "x"))
    steps, members, h = out.shape
    i, f, o = gates[..., :h], gates[..., h : 2 * h], gates[..., 3 * h :]
    c_prev = torch.cat([torch.zeros_like(cell[:1]), cell[:-1]])
    h_prev = torch.cat([torch.zeros_like(out[:1]), out[:-1]])
    sd = gates * (1 - gates)
    # d(pre-activation)/d(dc or dh) per gate, vectorised over all steps before the loop
    factor = torch.cat(
        [cand * sd[..., :h], c_prev * sd[..., h : 2 * h], i * (1 - cand**2), tcell * sd[..., 3 * h :]], -1
    )
    o_dtanh = o * (1 - tcell**2)
    dz = torch.empty_like(gates)
    w_hh_t = w_hh.transpose(1, 2).contiguous()
    dh_next = torch.zeros(members, h, device=out.device)
    dc_next = torch.zeros(members, h, device=out.device)
    for t in range(steps - 1, -1, -1):
        dh = d_out[t] + dh_next
        dc = torch.addcmul(dc_next, dh, o_dtanh[t])
        torch.mul(torch.cat([dc, dc, dc, dh], 1), factor[t], out=dz[t])
        dc_next = dc * f[t]
        dh_next = torch.bmm(dz[t].unsqueeze(1), w_hh_t).squeeze(1)
    dz_m = dz.transpose(0, 1)
    d_w_ih = torch.bmm(x.permute(1, 2, 0), dz_m)
    d_w_hh = torch.bmm(h_prev.permute(1, 2, 0), dz_m)
    d_b = dz.sum(0).unsqueeze(1)
    d_x = torch.bmm(dz_m, w_ih.transpose(1, 2)).transpose(0, 1)
    return d_x, d_w_ih, d_w_hh, d_b


def forward(params: dict[str, Tensor], x: Tensor, masks: Sequence[Tensor] | None = None) -> tuple[Tensor, list]:
    """Predictions (time, member) and the cache for backward; masks are the scaled dropout masks per layer."""
    layers = sum(1 for k in params if k.startswith("w_hh"))
    caches = []
    for layer in range(layers):
        cache = _layer_forward(x, params[f"w_ih{layer}"], params[f"w_hh{layer}"], params[f"b{layer}"])
        x = cache["out"] if masks is None else cache["out"] * masks[layer]
        caches.append(cache)
    y = torch.baddbmm(params["b_out"], x.transpose(0, 1), params["w_out"]).squeeze(-1).transpose(0, 1)
    return y, [caches, x, masks]


def backward(params: dict[str, Tensor], state: list, d_y: Tensor, recurrent_l2: float) -> dict[str, Tensor]:
    """Gradients of every stacked parameter given d loss / d prediction (time, member), L2 on recurrences added."""
    caches, top, masks = state
    grads = {
        "w_out": torch.bmm(top.permute(1, 2, 0), d_y.transpose(0, 1).unsqueeze(-1)),
        "b_out": d_y.sum(0).view(-1, 1, 1),
    }
    d_x = d_y.unsqueeze(-1) * params["w_out"].squeeze(-1).unsqueeze(0)
    for layer in range(len(caches) - 1, -1, -1):
        if masks is not None:
            d_x = d_x * masks[layer]
        d_x, d_w_ih, d_w_hh, d_b = _layer_backward(caches[layer], params[f"w_ih{layer}"], params[f"w_hh{layer}"], d_x)
        grads[f"w_ih{layer}"] = d_w_ih
        grads[f"w_hh{layer}"] = d_w_hh + 2.0 * recurrent_l2 * params[f"w_hh{layer}"]
        grads[f"b{layer}"] = d_b
    return grads


def masked_mae(predicted: Tensor, target: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """Per-member MAE over valid days only, and its gradient; a member without valid days contributes 0."""
    n = valid.sum(0).clamp(min=1)
    err = torch.where(valid, predicted - target, torch.zeros_like(predicted))
    return err.abs().sum(0) / n, torch.sign(err) / n


@dataclass
class MemberData:
    """Per-member scaling (fitted on each member's training probes) and the shared raw arrays."""

    inputs: Tensor
    observed: Tensor
    target: Tensor
    mean: Tensor
    std: Tensor
    y_mean: Tensor
    y_std: Tensor

    def batch(self, probes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Scaled inputs (time, member, channel), scaled target and validity for one probe per member."""
        x = (self.inputs[probes] - self.mean[:, None]) / self.std[:, None]
        x = torch.nan_to_num(x, nan=0.0)
        x = torch.cat([x, self.observed[probes]], -1).transpose(0, 1).contiguous()
        y = self.target[probes].transpose(0, 1)
        valid = torch.isfinite(y)
        y = (torch.nan_to_num(y, nan=0.0) - self.y_mean) / self.y_std
        return x, y, valid

    def member_batch(self, probes: np.ndarray, workspace: lstm_cpu.Workspace | None = None):
        """The same batch member-major, (member, time, channel), as numpy arrays in `workspace` (CPU tensors only)."""
        return lstm_cpu.scaled_batch(
            self.inputs.numpy(),
            self.observed.numpy(),
            self.target.numpy(),
            probes,
            self.mean.numpy(),
            self.std.numpy(),
            self.y_mean.numpy(),
            self.y_std.numpy(),
            workspace,
        )


def member_data(
    inputs: np.ndarray, observed: np.ndarray, target: np.ndarray, folds: Sequence[Fold], device: str
) -> MemberData:
    """Scaling statistics of every member from its own training probes only (never validation or test)."""
    stats = [standard_stats(inputs[f.train], axis=(0, 1)) for f in folds]
    y_stats = [standard_stats(target[f.train], axis=(0, 1)) for f in folds]

    def tensor(a: npt.ArrayLike) -> Tensor:
        return torch.tensor(np.asarray(a), dtype=torch.float32, device=device)

    return MemberData(
        tensor(inputs),
        tensor(observed),
        tensor(target),
        tensor([s[0] for s in stats]),
        tensor([s[1] for s in stats]),
        tensor([s[0] for s in y_stats]),
        tensor([s[1] for s in y_stats]),
    )


def train_ensemble(
    inputs: np.ndarray,
    observed: np.ndarray,
    target: np.ndarray,
    folds: Sequence[Fold],
    settings: LstmSettings,
    seed: int,
    device: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Train every member on its training probes; returns test predictions (member, time) and validation MAE."""
    torch.manual_seed(seed)
    data = member_data(inputs, observed, target, folds, device)
    n_channels = inputs.shape[-1] + observed.shape[-1]
    params = {k: v.to(device) for k, v in init_weights(folds, n_channels, settings, seed).items()}
    optimiser = torch.optim.Adam(
        list(params.values()), lr=settings.base_lr, betas=(settings.beta1, settings.beta2), eps=settings.eps
    )
    schedule = torch.optim.lr_scheduler.CyclicLR(
        optimiser,
        settings.base_lr,
        settings.max_lr,
        step_size_up=settings.step_size,
        mode="triangular",
        cycle_momentum=False,
    )
    generator = torch.Generator(device=device).manual_seed(seed)
    n_train = len(folds[0].train)
    if any(len(f.train) != n_train for f in folds):
        raise ValueError("every member of one ensemble must have the same number of training probes")
    keep = 1.0 - settings.dropout
    members = len(folds)
    fold_ids, repeat_ids = np.array([f.fold for f in folds]), np.array([f.repeat for f in folds])
    workspace = lstm_cpu.Workspace()
    masks: list[np.ndarray] | list[Tensor]  # numpy arrays on the CPU path, tensors on the others
    predicted: np.ndarray | Tensor
    for epoch in range(settings.epochs):
        order = np.stack([member_rng(seed, f.fold, 1000 * (epoch + 1) + f.repeat).permutation(f.train) for f in folds])
        losses = torch.zeros(members, device=device)
        for step in range(n_train):
            with torch.no_grad():
                if device == "cpu":  # one compiled loop per layer (soilsat.models.simonsen.lstm_cpu)
                    x, y, valid = data.member_batch(order[:, step], workspace)
                    shape = (x.shape[1], settings.units)
                    counter = (epoch * n_train + step) * settings.layers
                    masks = [
                        lstm_cpu.dropout_masks(
                            seed, fold_ids, repeat_ids, counter + layer, shape, keep, f"mask{layer}", workspace
                        )
                        for layer in range(settings.layers)
                    ]
                    predicted, state = lstm_cpu.forward(params, x, masks, workspace)
                    loss, d_y = masked_mae(
                        torch.from_numpy(predicted).T, torch.from_numpy(y).T, torch.from_numpy(valid).T
                    )
                    grads = lstm_cpu.backward(params, state, d_y.T.numpy(), settings.recurrent_l2)
                else:
                    x, y, valid = data.batch(torch.as_tensor(order[:, step], device=device))
                    masks = [
                        torch.empty(x.shape[0], members, settings.units, device=device).bernoulli_(
                            keep, generator=generator
                        )
                        / keep
                        for _ in range(settings.layers)
                    ]
                    predicted, state = forward(params, x, masks)
                    loss, d_y = masked_mae(predicted, y, valid)
                    grads = backward(params, state, d_y, settings.recurrent_l2)
            for name, p in params.items():
                p.grad = grads[name]
            optimiser.step()
            schedule.step()
            losses += loss
        log.info(
            "epoch %d of %d: mean training MAE (scaled) %.4f over %d members",
            epoch + 1,
            settings.epochs,
            float(losses.mean()) / n_train,
            members,
        )
    return predict(params, data, [f.test[0] for f in folds]), validation_mae(params, data, folds)


def predict(params: dict[str, Tensor], data: MemberData, probes: Sequence[int]) -> np.ndarray:
    """Predictions (member, time) in target units for one probe per member, dropout off."""
    with torch.no_grad():
        if data.inputs.device.type == "cpu":
            y = torch.from_numpy(lstm_cpu.forward(params, data.member_batch(np.asarray(probes))[0])[0])
        else:
            x, _, _ = data.batch(torch.as_tensor(np.asarray(probes), device=data.inputs.device))
            y = forward(params, x)[0].transpose(0, 1)
        return (y * data.y_std[:, None] + data.y_mean[:, None]).cpu().numpy()


def validation_mae(params: dict[str, Tensor], data: MemberData, folds: Sequence[Fold]) -> np.ndarray:
    """MAE (target units) of every member on its validation probes; NaN where a member has none."""
    n_val = min(len(f.validation) for f in folds)
    if n_val == 0:
        return np.full(len(folds), np.nan)
    errors = []
    for k in range(n_val):
        probes = [f.validation[k] for f in folds]
        predicted = predict(params, data, probes)
        observed = data.target[torch.as_tensor(np.asarray(probes), device=data.target.device)].cpu().numpy()
        errors.append(np.abs(predicted - observed))
    return np.nanmean(np.concatenate(errors, axis=1), axis=1)
