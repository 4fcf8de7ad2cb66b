"""Writing a model's predictions and metrics as tidy CSV tables."""

from __future__ import annotations

import logging
import os

import pandas as pd

from soilsat.evaluate.metrics import metrics_table
from soilsat.io import atomic_path


def write_results(predictions: pd.DataFrame, predictions_path: str | os.PathLike, metrics_path: str | os.PathLike,
                  log: logging.Logger) -> pd.DataFrame:
    """Write predictions and their metrics atomically; returns the metrics."""
    metrics = metrics_table(predictions)
    with atomic_path(predictions_path) as tmp:
        predictions.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(metrics_path) as tmp:
        metrics.to_csv(tmp, index=False, float_format="%.5f")
    overall = metrics[metrics["level"] == "all"].iloc[0]
    log.info("%s: MAE %.4f, RMSE %.4f, ubRMSE %.4f, r %.3f over %d probe-days",
             overall["model"], overall.mae, overall.rmse, overall.ubrmse, overall.r, overall.n)
    return metrics
