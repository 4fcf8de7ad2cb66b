"""Fair comparison of soil-moisture models and products: every one scored on the same probe-days.

A probe-day is common when it has an observation and every model that covers its probe predicts it
(the agriculture variants cover only probes on agricultural land; every other model covers all probes).
So within any group of the table (a land cover, a probe, a region) all models present are scored on
identical rows. Scope `all` holds the models that cover every probe; scope `agriculture` holds every
model on the agricultural probes only (Simonsen 2021, Fig. 22B). Each model's score on all of its own
rows is kept beside, labelled `rows = own`, and models trained in repeats get the mean and standard
deviation of each repeat's score next to the score of their repeat-averaged prediction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from soilsat.evaluate.metrics import LEVELS, METRICS, grouped_scores

KEYS = ["model", "variant"]
MEAN = "mean"  # the `repeat` label of repeat-averaged predictions
AGRICULTURE_LANDCOVER = (211, 212)  # CORINE non-irrigated arable land and permanently irrigated land
SPREAD_METRICS = ("mae", "rmse", "ubrmse", "bias", "r")
COLUMNS = ["model", "variant", "probe", "time", "region", "landcover", "observed", "predicted"]


def averaged(predictions: pd.DataFrame) -> pd.DataFrame:
    """The repeat-averaged rows of a predictions table (all rows where it has no repeats)."""
    if "repeat" not in predictions:
        return predictions
    return predictions[predictions["repeat"].astype(str) == MEAN]


def covers_all_probes(variant: object) -> bool:
    """Whether a model variant is evaluated on every probe (the agriculture variants are not)."""
    return str(variant) != "agriculture"


def common_rows(predictions: pd.DataFrame) -> pd.DataFrame:
    """The repeat-averaged rows on probe-days that every model covering the probe predicts, with an observation."""
    table = averaged(predictions).copy()
    table["time"] = pd.to_datetime(table["time"])
    valid = table[np.isfinite(table["observed"]) & np.isfinite(table["predicted"])]
    models = table[KEYS].drop_duplicates()
    agricultural = table["landcover"].isin(AGRICULTURE_LANDCOVER)
    common = None
    for model, variant in models.itertuples(index=False):
        own = valid[(valid["model"] == model) & (valid["variant"] == variant)]
        days = pd.MultiIndex.from_frame(own[["probe", "time"]])
        if covers_all_probes(variant):
            needed = pd.MultiIndex.from_frame(table[["probe", "time"]])
        else:
            needed = pd.MultiIndex.from_frame(table.loc[agricultural, ["probe", "time"]])
        # probe-days this model must predict but does not are not common
        lacking = needed.difference(days)
        common = lacking if common is None else common.union(lacking)
    index = pd.MultiIndex.from_frame(valid[["probe", "time"]])
    keep = ~index.isin(common) if common is not None else np.ones(len(valid), bool)
    return valid[keep].reset_index(drop=True)


def scoped(common: pd.DataFrame) -> pd.DataFrame:
    """The common rows labelled by scope: `all` (models covering every probe) and `agriculture` (every model)."""
    everywhere = common[common["variant"].map(covers_all_probes)].assign(scope="all")
    farmed = common[common["landcover"].isin(AGRICULTURE_LANDCOVER)].assign(scope="agriculture")
    return pd.concat([everywhere, farmed], ignore_index=True)


def level_scores(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Scores per `keys` at every level of metrics.LEVELS (all, region, land cover, probe)."""
    frames = []
    for level, extra in LEVELS:
        scored = grouped_scores(table, [*keys, *extra])
        scored.insert(len(keys), "level", level)
        scored.insert(len(keys) + 1, "group", scored[extra[0]].astype(str) if extra else "all")
        frames.append(scored.drop(columns=extra))
    return pd.concat(frames, ignore_index=True)


def repeat_spread(predictions: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over repeats of each metric, on the given common rows, per scope and group."""
    if "repeat" not in predictions:
        return pd.DataFrame(columns=["scope", *KEYS, "level", "group"])
    repeats = predictions[predictions["repeat"].astype(str) != MEAN].copy()
    if repeats.empty:
        return pd.DataFrame(columns=["scope", *KEYS, "level", "group"])
    repeats["time"] = pd.to_datetime(repeats["time"])
    on = ["scope", *KEYS, "probe", "time"]
    repeats = repeats.drop(columns=["observed"]).merge(rows[[*on, "observed"]], on=[*KEYS, "probe", "time"])
    scored = level_scores(repeats.assign(repeat=repeats["repeat"].astype(str)), ["scope", *KEYS, "repeat"])
    spread = scored.groupby(["scope", *KEYS, "level", "group"])[list(SPREAD_METRICS)].agg(["mean", "std"])
    spread.columns = [f"{metric}_repeat_{stat.replace('std', 'sd')}" for metric, stat in spread.columns]
    return spread.reset_index()


def comparison_metrics(predictions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparison table (common and own rows, repeat spread) and the common rows it was scored on."""
    rows = scoped(common_rows(predictions))
    common = level_scores(rows, ["scope", *KEYS]).assign(rows="common")
    common = common.merge(repeat_spread(predictions, rows), on=["scope", *KEYS, "level", "group"], how="left")
    own_rows = averaged(predictions)
    own_rows = own_rows[np.isfinite(own_rows["observed"]) & np.isfinite(own_rows["predicted"])]
    own_scope = np.where(own_rows["variant"].map(covers_all_probes), "all", "agriculture")
    own = level_scores(own_rows.assign(scope=own_scope), ["scope", *KEYS]).assign(rows="own")
    table = pd.concat([common, own], ignore_index=True)
    order = {key: i for i, key in enumerate(dict.fromkeys(zip(predictions["model"], predictions["variant"])))}
    position = [order[key] for key in zip(table["model"], table["variant"])]
    table = table.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)
    spread_columns = [c for c in table.columns if "_repeat_" in c]
    columns = ["scope", "rows", *KEYS, "level", "group", *METRICS, *spread_columns]
    return table[columns], rows[["scope", *COLUMNS]]
