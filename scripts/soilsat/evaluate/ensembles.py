"""The held-out predictions of the studies' ensembles with the spread of their members, and their interval coverage.

An ensemble is the LSTM's repeats (Simonsen 2021), the bags of the Tziolas (2020) models, the CNN-LSTM and
forest repeats of Zhang (2022); a single model (the Tsagkatakis 2021 fusion CNN) has no spread and gets
intervals of constant width. Every prediction here was made for data its model never trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from soilsat.evaluate.conformal import held_out_coverage

MEAN = "mean"  # the `repeat` label of repeat-averaged predictions
FUSION = (
    "fusion_cnn"  # the Tsagkatakis network's variant (soilsat.models.tsagkatakis.protocol.VARIANTS), not its baseline
)


def member_spread(members: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per row of `keys`: the standard deviation of the members' predictions and their number."""
    grouped = members.groupby(list(keys), sort=False)["predicted"]
    return pd.DataFrame({"spread": grouped.std(ddof=1), "members": grouped.size()}).reset_index()


def repeated(predictions: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """A predictions table with a `repeat` column as ensemble rows: the averaged rows with their repeats' spread."""
    repeat = predictions["repeat"].astype(str)
    averaged = predictions[repeat == MEAN]
    spread = member_spread(predictions[repeat != MEAN], keys)
    return averaged.merge(spread, on=list(keys), how="left")


def bagged(predictions: pd.DataFrame, members: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The bag-averaged predictions with the spread of the bags' own predictions (members.csv)."""
    return predictions.merge(member_spread(members, keys), on=list(keys), how="left")


def sample_groups(samples: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Random groups of samples for the cross-conformal coverage of a point study (a sample's rows stay together)."""
    names = np.unique(np.asarray(samples).astype(str))
    fold = np.random.default_rng(seed).permutation(np.arange(len(names)) % min(folds, len(names)))
    return pd.Series(fold, index=names).loc[np.asarray(samples).astype(str)].to_numpy()


def coverage_table(table: pd.DataFrame, keys: Sequence[str], groups: str, levels: Sequence[float]) -> pd.DataFrame:
    """Held-out interval coverage per group of `keys` (e.g. model, variant); intervals scaled by `spread` where
    every row has one from two or more members, else of constant width."""
    frames = []
    for key, rows in table.groupby(list(keys), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        members = rows["members"] if "members" in rows else pd.Series(1, index=rows.index)
        has_spread = "spread" in rows and bool((members >= 2).all()) and bool(np.isfinite(rows["spread"]).all())
        spread = rows["spread"].to_numpy(float) if has_spread else None
        coverage = held_out_coverage(
            rows["observed"].to_numpy(float), rows["predicted"].to_numpy(float), spread, rows[groups].to_numpy(), levels
        )
        scaling = f"member spread ({int(members.min())} members)" if has_spread else "constant (absolute errors)"
        frames.append(coverage.assign(**dict(zip(keys, key)), scaling=scaling))
    columns = [*keys, "scaling", "level", "coverage", "mean_width", "n", "groups"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def study_ensembles(
    method: str, predictions: pd.DataFrame, members: pd.DataFrame | None, folds: int, seed: int
) -> pd.DataFrame:
    """The held-out predictions of a study's models with their member spread and the group each belongs to in
    the coverage's cross-calibration (a probe for the probe studies, a random fold of samples for the others)."""
    if method == "simonsen2021":
        table = repeated(predictions, ["model", "variant", "probe", "time"])
        return table.assign(group=table["probe"])
    if method == "tsagkatakis2021":
        held = predictions[(predictions["split"] == "validation") & (predictions["variant"] == FUSION)]
        table = held.groupby(["model", "variant", "probe", "time"], as_index=False)[["observed", "predicted"]].mean()
        return table.assign(group=table["probe"])
    if method == "tziolas2020":
        if members is None:
            raise ValueError("the Tziolas (2020) coverage needs the bags' predictions (members.csv)")
        table = bagged(predictions, members, ["model", "variant", "sample"])
    elif method == "zhang2022":
        table = repeated(predictions, ["model", "variant", "sample"])
    else:
        raise ValueError(f"unknown method {method!r}")
    return table.assign(group=sample_groups(table["sample"].to_numpy(), folds, seed))
