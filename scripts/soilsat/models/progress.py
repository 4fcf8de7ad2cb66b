"""Progress of a training run in the job's log."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def epoch_logger(label: str, epochs: int, logger: logging.Logger = log) -> Callable[[int, float], None]:
    """A progress callback logging about ten epochs of a training run."""
    every = max(1, epochs // 10)

    def report(epoch: int, mse: float) -> None:
        if epoch % every == 0 or epoch == epochs:
            logger.info("%s: epoch %d/%d, training MSE (scaled) %.4f", label, epoch, epochs, mse)

    return report
