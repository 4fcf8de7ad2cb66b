"""The CPU path of the batched LSTM ensemble: each member's whole recurrence in one compiled loop.

On a CPU the eager ensemble of :mod:`soilsat.models.simonsen.lstm` spends its time dispatching about a dozen
small tensor operations per time step and layer. Here one numba kernel per layer and direction runs
every time step of a member in registers and L1-sized buffers, members in parallel, so a layer costs
one call instead of thousands. torch has no fused LSTM for per-member weights, hence our own kernels.

Arrays are member-major, (member, time, feature), float32; gate order i, f, g, o as in torch.
Sigmoid and tanh are both written through exp (tanh x = 2 sigmoid(2x) - 1), and exp is our own
(:func:`_exp`): without Intel's SVML, LLVM calls libm's expf once per element, which made the
transcendentals most of the forward pass; written as range reduction plus a polynomial, the same
loop runs in SIMD lanes. The result agrees with torch to float32 rounding (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import torch
from numba import prange
from torch import Tensor


@numba.njit(fastmath=True, cache=True, inline="always")
def _exp(v, n, out):  # pragma: no cover - compiled
    """out = exp(v) in float32 by loops LLVM vectorises: 2^n from exponent bits times a degree-7 polynomial in r."""
    # x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for exact products); the Taylor remainder
    # r^8/8! is below 1.2e-8 there, under float32's rounding.
    log2e, ln2_hi, ln2_lo = np.float32(1.4426950408889634), np.float32(0.693359375), np.float32(-2.12194440e-4)
    for k in range(v.size):
        x = min(max(v[k], np.float32(-87.0)), np.float32(88.0))
        m = np.floor(x * log2e + np.float32(0.5))
        r = x - m * ln2_hi - m * ln2_lo
        p = np.float32(1.0 / 5040.0)
        p = p * r + np.float32(1.0 / 720.0)
        p = p * r + np.float32(1.0 / 120.0)
        p = p * r + np.float32(1.0 / 24.0)
        p = p * r + np.float32(1.0 / 6.0)
        p = p * r + np.float32(0.5)
        p = p * r + np.float32(1.0)
        p = p * r + np.float32(1.0)
        out[k] = p
        n[k] = (np.int32(m) + np.int32(127)) << np.int32(23)
    scale = n.view(np.float32)
    for k in range(v.size):
        out[k] *= scale[k]


@numba.njit(parallel=True, fastmath=True, cache=True)
def _layer_forward(x, w_ih, w_hh, b, act, cell, tcell, out):  # pragma: no cover - compiled
    members, steps, n_in = x.shape
    h = w_hh.shape[1]
    g4 = 4 * h
    one, two = np.float32(1.0), np.float32(2.0)
    for m in prange(members):
        wi, wh, bias = w_ih[m], w_hh[m], b[m, 0]
        z = np.empty(g4, np.float32)
        e = np.empty(g4, np.float32)
        n_int = np.empty(g4, np.int32)
        zc = np.empty(h, np.float32)
        ec = np.empty(h, np.float32)
        n_c = np.empty(h, np.int32)
        h_prev = np.zeros(h, np.float32)
        c_prev = np.zeros(h, np.float32)
        for t in range(steps):
            for k in range(g4):
                z[k] = bias[k]
            for i in range(n_in):
                xi = x[m, t, i]
                for k in range(g4):
                    z[k] += xi * wi[i, k]
            for j in range(h):
                hj = h_prev[j]
                for k in range(g4):
                    z[k] += hj * wh[j, k]
            a = act[m, t]
            for k in range(g4):
                z[k] = -z[k]
            for k in range(h):
                z[2 * h + k] *= two
            _exp(z, n_int, e)
            for k in range(g4):
                a[k] = one / (one + e[k])
            for k in range(h):
                a[2 * h + k] = two * a[2 * h + k] - one
            for k in range(h):
                c = a[h + k] * c_prev[k] + a[k] * a[2 * h + k]
                c_prev[k] = c
                cell[m, t, k] = c
                zc[k] = -two * c
            _exp(zc, n_c, ec)
            for k in range(h):
                tc = two / (one + ec[k]) - one
                tcell[m, t, k] = tc
                hv = a[3 * h + k] * tc
                h_prev[k] = hv
                out[m, t, k] = hv


@numba.njit(parallel=True, fastmath=True, cache=True)
def _layer_backward(x, w_ih, w_hh, act, cell, tcell, out, d_out, want_dx, d_x, d_wih, d_whh, d_b):  # pragma: no cover
    members, steps, n_in = x.shape
    h = w_hh.shape[1]
    g4 = 4 * h
    one, zero = np.float32(1.0), np.float32(0.0)
    for m in prange(members):
        wi, wh = w_ih[m], w_hh[m]
        gwi, gwh, gb = d_wih[m], d_whh[m], d_b[m, 0]
        gwi[:] = zero
        gwh[:] = zero
        gb[:] = zero
        dh_next = np.zeros(h, np.float32)
        dc_next = np.zeros(h, np.float32)
        dz = np.empty(g4, np.float32)
        for t in range(steps - 1, -1, -1):
            a = act[m, t]
            for k in range(h):
                dh = d_out[m, t, k] + dh_next[k]
                tc = tcell[m, t, k]
                ig, fg, gg, og = a[k], a[h + k], a[2 * h + k], a[3 * h + k]
                dc = dc_next[k] + dh * og * (one - tc * tc)
                cp = cell[m, t - 1, k] if t > 0 else zero
                dz[k] = dc * gg * ig * (one - ig)
                dz[h + k] = dc * cp * fg * (one - fg)
                dz[2 * h + k] = dc * ig * (one - gg * gg)
                dz[3 * h + k] = dh * tc * og * (one - og)
                dc_next[k] = dc * fg
            for k in range(g4):
                gb[k] += dz[k]
            for i in range(n_in):
                xi = x[m, t, i]
                s = zero
                for k in range(g4):
                    gwi[i, k] += xi * dz[k]
                    s += wi[i, k] * dz[k]
                if want_dx:
                    d_x[m, t, i] = s
            for j in range(h):
                hp = out[m, t - 1, j] if t > 0 else zero
                s = zero
                for k in range(g4):
                    gwh[j, k] += hp * dz[k]
                    s += wh[j, k] * dz[k]
                dh_next[j] = s


def _array(t: Tensor) -> np.ndarray:
    """A C-contiguous float32 numpy view (or copy) of a CPU tensor."""
    return np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)


class Workspace:
    """The arrays of one ensemble's training update, allocated on first use and reused by every later one.

    At the thesis protocol's size an update touches about 1 GB of activations; fresh arrays at every
    update cost more in page faults (kernel time) than the kernels' arithmetic."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
        """The array kept under `name` (uninitialised), reallocated when the shape or dtype asked for changes."""
        a = self._arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._arrays[name] = np.empty(shape, dtype)
        return a


@numba.njit(parallel=True, cache=True)
def _scaled_batch(inputs, observed, target, probes, mean, std, y_mean, y_std, x, y, valid):  # pragma: no cover
    members = probes.shape[0]
    steps, n_in = inputs.shape[1], inputs.shape[2]
    n_obs = observed.shape[2]
    big = np.finfo(np.float32).max
    for m in prange(members):
        p = probes[m]
        for t in range(steps):
            for i in range(n_in):
                v = (inputs[p, t, i] - mean[m, i]) / std[m, i]
                if np.isnan(v):  # as torch.nan_to_num(nan=0.0)
                    v = np.float32(0.0)
                elif np.isinf(v):
                    v = big if v > 0 else -big
                x[m, t, i] = v
            for i in range(n_obs):
                x[m, t, n_in + i] = observed[p, t, i]
            v = target[p, t]
            ok = np.isfinite(v)
            valid[m, t] = ok
            y[m, t] = (v - y_mean[m]) / y_std[m] if ok else -y_mean[m] / y_std[m]


def scaled_batch(
    inputs: np.ndarray,
    observed: np.ndarray,
    target: np.ndarray,
    probes: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    y_mean: np.ndarray,
    y_std: np.ndarray,
    workspace: Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Member-major inputs (member, time, channel), scaled target and validity of one probe per member.

    The same values as :meth:`soilsat.models.simonsen.lstm.MemberData.batch` (which is time-major), in one pass."""
    ws = workspace or Workspace()
    members, (steps, n_in), n_obs = len(probes), inputs.shape[1:], observed.shape[2]
    x = ws.array("batch_x", (members, steps, n_in + n_obs))
    y = ws.array("batch_y", (members, steps))
    valid = ws.array("batch_valid", (members, steps), np.bool_)
    _scaled_batch(
        inputs, observed, target, np.ascontiguousarray(probes, dtype=np.int64), mean, std, y_mean, y_std, x, y, valid
    )
    return x, y, valid


@numba.njit(cache=True, inline="always")
def _mix(z):  # pragma: no cover - compiled
    """SplitMix64's finaliser: a bijective scramble of a 64-bit word."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(parallel=True, cache=True)
def _dropout_masks(seed, folds, repeats, counter, threshold, scale, out):  # pragma: no cover - compiled
    members, steps, units = out.shape
    golden = np.uint64(0x9E3779B97F4A7C15)
    for m in prange(members):
        key = _mix(np.uint64(seed) + golden)
        key = _mix(key ^ np.uint64(folds[m]))
        key = _mix(key ^ np.uint64(repeats[m]))
        key = _mix(key ^ np.uint64(counter))
        for t in range(steps):
            for u in range(units):
                z = _mix(key + np.uint64(t * units + u + 1) * golden)
                out[m, t, u] = scale if (z >> np.uint64(40)) < threshold else np.float32(0.0)


def dropout_masks(
    seed: int,
    folds: np.ndarray,
    repeats: np.ndarray,
    counter: int,
    shape: tuple[int, int],
    keep: float,
    name: str,
    workspace: Workspace | None = None,
) -> np.ndarray:
    """Inverted-dropout masks (member, time, unit): 1/keep with probability keep, else 0.

    Each member's mask is a counter-based stream (SplitMix64) keyed by (seed, fold, repeat, counter),
    so a member trains the same whichever members run beside it and however many threads draw them."""
    out = (workspace or Workspace()).array(name, (len(folds), *shape))
    threshold = np.uint64(round(keep * 2**24))
    _dropout_masks(
        np.uint64(seed),
        np.asarray(folds, dtype=np.uint64),
        np.asarray(repeats, dtype=np.uint64),
        np.uint64(counter),
        threshold,
        np.float32(1.0 / keep),
        out,
    )
    return out


def layer_forward(
    x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray, workspace: Workspace | None = None, name: str = ""
) -> dict[str, np.ndarray]:
    """One layer over (member, time, feature): gate activations, cell, tanh(cell) and output, kept for backward."""
    ws = workspace or Workspace()
    members, steps, _ = x.shape
    h = w_hh.shape[1]
    cache = {
        "x": x,
        "act": ws.array(f"{name}act", (members, steps, 4 * h)),
        **{k: ws.array(f"{name}{k}", (members, steps, h)) for k in ("cell", "tcell", "out")},
    }
    _layer_forward(x, w_ih, w_hh, b, cache["act"], cache["cell"], cache["tcell"], cache["out"])
    return cache


def layer_backward(
    cache: dict[str, np.ndarray],
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    d_out: np.ndarray,
    want_dx: bool = True,
    workspace: Workspace | None = None,
    name: str = "",
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (input or None, w_ih, w_hh, b) of one layer by backpropagation through time."""
    ws = workspace or Workspace()
    x = cache["x"]
    d_x = ws.array(f"{name}d_x", x.shape) if want_dx else np.empty((0, 0, 0), np.float32)
    d_wih, d_whh = ws.array(f"{name}d_wih", w_ih.shape), ws.array(f"{name}d_whh", w_hh.shape)
    d_b = ws.array(f"{name}d_b", (w_ih.shape[0], 1, w_ih.shape[2]))
    _layer_backward(
        x,
        w_ih,
        w_hh,
        cache["act"],
        cache["cell"],
        cache["tcell"],
        cache["out"],
        np.ascontiguousarray(d_out, dtype=np.float32),
        want_dx,
        d_x,
        d_wih,
        d_whh,
        d_b,
    )
    return (d_x if want_dx else None), d_wih, d_whh, d_b


def forward(
    params: dict[str, Tensor],
    x: np.ndarray,
    masks: Sequence[np.ndarray] | None = None,
    workspace: Workspace | None = None,
) -> tuple[np.ndarray, list]:
    """Predictions (member, time) and the state for backward; x and masks are (member, time, ...)."""
    ws = workspace or Workspace()
    layers = sum(1 for k in params if k.startswith("w_hh"))
    caches = []
    for layer in range(layers):
        cache = layer_forward(
            x,
            _array(params[f"w_ih{layer}"]),
            _array(params[f"w_hh{layer}"]),
            _array(params[f"b{layer}"]),
            ws,
            f"layer{layer}_",
        )
        x = (
            cache["out"]
            if masks is None
            else np.multiply(cache["out"], masks[layer], out=ws.array(f"layer{layer}_dropped", cache["out"].shape))
        )
        caches.append(cache)
    w_out = _array(params["w_out"])[:, :, 0]  # (member, unit)
    y = np.einsum("mtu,mu->mt", x, w_out) + _array(params["b_out"])[:, 0]
    return y.astype(np.float32), [caches, x, masks, ws]


def backward(params: dict[str, Tensor], state: list, d_y: np.ndarray, recurrent_l2: float) -> dict[str, Tensor]:
    """Gradients of every stacked parameter given d loss / d prediction (member, time), L2 on recurrences added."""
    caches, top, masks, ws = state
    d_y = np.ascontiguousarray(d_y, dtype=np.float32)
    grads = {
        "w_out": torch.from_numpy(np.einsum("mtu,mt->mu", top, d_y)[:, :, None].astype(np.float32)),
        "b_out": torch.from_numpy(d_y.sum(1).reshape(-1, 1, 1)),
    }
    d_x = np.multiply(d_y[:, :, None], _array(params["w_out"])[:, None, :, 0], out=ws.array("d_top", top.shape))
    for layer in range(len(caches) - 1, -1, -1):
        if masks is not None:
            d_x *= masks[layer]
        w_ih, w_hh = _array(params[f"w_ih{layer}"]), _array(params[f"w_hh{layer}"])
        d_x, d_w_ih, d_w_hh, d_b = layer_backward(caches[layer], w_ih, w_hh, d_x, layer > 0, ws, f"layer{layer}_")
        d_w_hh += np.float32(2.0 * recurrent_l2) * w_hh
        grads[f"w_ih{layer}"] = torch.from_numpy(d_w_ih)
        grads[f"w_hh{layer}"] = torch.from_numpy(d_w_hh)
        grads[f"b{layer}"] = torch.from_numpy(d_b)
    return grads
