"""Benchmark: the Simonsen (2021) protocol at its published size, batched ensemble vs a per-fold nn.LSTM loop.

61 probes x 883 days x 20 features, leave-one-probe-out x 10 repeats (610 members), 48 training probes
per member, 20 epochs at batch size 1: 585,600 sequence updates. Synthetic data of that shape.
--subset P trains the ensemble on the first P folds only (P x repeats members, same updates per member)
and extrapolates; the loop peer is always timed on a few updates and extrapolated. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from machine import describe  # benchmarks/machine.py

from soilsat.models.runtime import deterministic
from soilsat.models.simonsen.lstm import LstmSettings, SimonsenLstm, train_ensemble
from soilsat.models.splits import leave_one_probe_out

SCHEMA = Path(__file__).resolve().parents[1] / "rules" / "schemas" / "config.schema.yaml"


def thesis_settings() -> LstmSettings:
    """The thesis network and protocol: train.lstm's defaults in the config schema."""
    node = yaml.safe_load(SCHEMA.read_text())
    for key in ("train", "lstm"):
        node = node["properties"][key]
    return LstmSettings.from_config({k: v["default"] for k, v in node["properties"].items()})


def loop_seconds_per_update(n_inputs: int, days: int, updates: int, settings: LstmSettings) -> float:
    """Seconds of one batch-size-1 Adam update of a plain nn.LSTM model on one 883-day sequence."""
    model = SimonsenLstm(n_inputs, settings.units, settings.layers, settings.dropout)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x, y = torch.randn(1, days, n_inputs), torch.randn(1, days)

    def update() -> None:
        optimiser.zero_grad()
        (model(x) - y).abs().mean().backward()
        optimiser.step()

    for _ in range(3):  # warm-up
        update()
    start = time.perf_counter()
    for _ in range(updates):
        update()
    return (time.perf_counter() - start) / updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--subset", type=int, default=61, help="folds (left-out probes) trained by the ensemble")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--loop-updates", type=int, default=20)
    args = parser.parse_args()
    probes, days, features, repeats = 61, 883, 20, 10
    deterministic(0, args.threads)
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(probes, days, features)).astype(np.float32)
    inputs[:, ::3, :2] = np.nan  # sigma0-like gaps -> two observed channels
    observed = (~np.isnan(inputs[:, :, :2])).astype(np.float32)
    target = rng.normal(size=(probes, days)).astype(np.float32)
    target[:, ::5] = np.nan
    settings = dataclasses.replace(thesis_settings(), epochs=args.epochs, repeats=repeats)
    folds = [f for f in leave_one_probe_out(probes, repeats, 0.2, 0) if f.fold < args.subset]
    total_updates = probes * repeats * len(folds[0].train) * 20
    start = time.perf_counter()
    train_ensemble(inputs, observed, target, folds, settings, 0, args.device)
    wall = time.perf_counter() - start
    run_updates = len(folds) * len(folds[0].train) * args.epochs
    per_update_loop = loop_seconds_per_update(features + 2, days, args.loop_updates, settings)
    full_wall = wall * total_updates / run_updates
    loop_s = per_update_loop * total_updates
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        json.dumps(
            {
                "device": args.device,
                "subset_folds": args.subset,
                "epochs_run": args.epochs,
                "members_run": len(folds),
                "updates_run": run_updates,
                "wall_s": round(wall, 2),
                "wall_s_extrapolated_full": round(full_wall, 1),
                "peak_rss_gb": round(peak, 3),
                "loop_s_per_update": round(per_update_loop, 5),
                "loop_s_extrapolated": round(loop_s, 1),
                "speedup": round(loop_s / full_wall, 2),
                "threads": torch.get_num_threads(),
                "machine": describe(),
            }
        )
    )


if __name__ == "__main__":
    main()
