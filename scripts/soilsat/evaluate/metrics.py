"""Agreement metrics between observed and predicted values."""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("n", "mae", "rmse", "ubrmse", "bias", "r", "r2", "rpiq")
LEVELS: tuple[tuple[str, list[str]], ...] = (
    ("all", []),
    ("region", ["region"]),
    ("landcover", ["landcover"]),
    ("probe", ["probe"]),
)


def scores(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, unbiased RMSE, bias (predicted - observed), Pearson r, R2 and RPIQ over valid pairs."""
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
    iqr = float(np.subtract(*np.percentile(obs, [75, 25])))
    rpiq = iqr / rmse if rmse > 0 else np.nan
    return {
        "n": n,
        "mae": float(np.abs(err).mean()),
        "rmse": rmse,
        "ubrmse": float(np.sqrt(max(rmse**2 - bias**2, 0.0))),
        "bias": bias,
        "r": r,
        "r2": r2,
        "rpiq": rpiq,
    }


def grouped_scores(predictions: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Scores per group of a predictions table with columns observed and predicted."""
    rows = []
    for key, group in predictions.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(by, key)) | scores(group["observed"], group["predicted"]))
    return pd.DataFrame(rows, columns=[*by, *METRICS])


def metrics_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """Scores per model (and variant) overall, per region, land cover and probe (those the table has), stacked.

    A table with a `repeat` column is scored on its repeat-averaged rows (repeat == 'mean'), and each
    single repeat is scored as well under level 'repeat'.
    """
    keys = ["model", "variant"] if "variant" in predictions else ["model"]
    table = predictions
    extra_levels = []
    if "repeat" in predictions:
        repeat = predictions["repeat"].astype(str)
        table = predictions[repeat == "mean"]
        if (repeat != "mean").any():
            extra_levels.append(("repeat", ["repeat"], predictions[repeat != "mean"].astype({"repeat": str})))
    frames = []
    levels = [(lvl, ex, table) for lvl, ex in LEVELS if all(c in table for c in ex)]  # point studies lack probes
    for level, extra, data in levels + extra_levels:
        scored = grouped_scores(data, [*keys, *extra])
        scored.insert(len(keys), "level", level)
        scored.insert(len(keys) + 1, "group", scored[extra[0]].astype(str) if extra else "all")
        frames.append(scored.drop(columns=extra))
    return pd.concat(frames, ignore_index=True)
