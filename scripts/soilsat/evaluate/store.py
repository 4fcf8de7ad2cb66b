"""Writing a model's predictions and metrics as tidy CSV tables."""

from __future__ import annotations

import logging
import os

import pandas as pd

from soilsat.evaluate.metrics import metrics_table
from soilsat.io import atomic_path


def write_results(
    predictions: pd.DataFrame, predictions_path: str | os.PathLike, metrics_path: str | os.PathLike, log: logging.Logger
) -> pd.DataFrame:
    """Write predictions and their metrics atomically; returns the metrics."""
    metrics = metrics_table(predictions)
    with atomic_path(predictions_path) as tmp:
        predictions.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(metrics_path) as tmp:
        metrics.to_csv(tmp, index=False, float_format="%.5f")
    overall = metrics[metrics["level"] == "all"].iloc[0]
    log.info(
        "%s: MAE %.4f, RMSE %.4f, ubRMSE %.4f, r %.3f over %d rows",
        overall["model"],
        overall.mae,
        overall.rmse,
        overall.ubrmse,
        overall.r,
        overall.n,
    )
    return metrics


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write any further tidy table of a model (activations, grid search) atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")


def overall_summary(metrics: pd.DataFrame) -> str:
    """One line per model variant of the overall scores (R2, RMSE, RPIQ) for the log."""
    rows = metrics[metrics["level"] == "all"]
    keys = [k for k in ("model", "variant") if k in rows]
    return "; ".join(
        " ".join(str(r[k]) for k in keys)
        + f": R2 {r['r2']:.3f}, RMSE {r['rmse']:.3f}, RPIQ {r['rpiq']:.2f}, n {int(r['n'])}"
        for _, r in rows.iterrows()
    )
