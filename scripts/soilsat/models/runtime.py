"""Deterministic torch runtime for a training job."""

from __future__ import annotations

import torch


def deterministic(seed: int, threads: int) -> None:
    """Seed torch, forbid non-deterministic kernels and fix the number of CPU threads (torch and numba)."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(max(1, int(threads)))
    import numba

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def device(name: str) -> str:
    """The torch device to use; asking for CUDA on a machine without it is an error, not a silent fallback."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        from soilsat.errors import ConfigError

        raise ConfigError(f"config key train.lstm.device is {name!r} but no CUDA device is available")
    return name
