"""Agreement metrics between observed and predicted values."""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("n", "mae", "rmse", "ubrmse", "bias", "r", "r2")


def scores(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, unbiased RMSE, bias (predicted - observed), Pearson r and R2 over valid pairs."""
    obs = np.asarray(observed, dtype=float)
    pred = np.asarray(predicted, dtype=float)
    ok = np.isfinite(obs) & np.isfinite(pred)
    obs, pred = obs[ok], pred[ok]
    n = int(ok.sum())
    if n == 0:
        return dict.fromkeys(METRICS, np.nan) | {"n": 0}
    err = pred - obs
    bias = float(err.mean())
    rmse = float(np.sqrt(np.mean(err**2)))
    r = float(np.corrcoef(obs, pred)[0, 1]) if n > 1 and obs.std() > 0 and pred.std() > 0 else np.nan
    ss_tot = float(np.sum((obs - obs.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else np.nan
    return {"n": n, "mae": float(np.abs(err).mean()), "rmse": rmse,
            "ubrmse": float(np.sqrt(max(rmse**2 - bias**2, 0.0))), "bias": bias, "r": r, "r2": r2}


def grouped_scores(predictions: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Scores per group of a predictions table with columns observed and predicted."""
    rows = []
    for key, group in predictions.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(by, key)) | scores(group["observed"], group["predicted"]))
    return pd.DataFrame(rows, columns=[*by, *METRICS])


def metrics_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """Scores per model overall, per region, per land cover and per probe, stacked in one tidy table."""
    frames = []
    for level, extra in [("all", []), ("region", ["region"]), ("landcover", ["landcover"]), ("probe", ["probe"])]:
        table = grouped_scores(predictions, ["model", *extra])
        table.insert(1, "level", level)
        table.insert(2, "group", table[extra[0]].astype(str) if extra else "all")
        frames.append(table.drop(columns=extra))
    return pd.concat(frames, ignore_index=True)
