"""Validation of soil-moisture models and products at the probes: matched pairs on raw values and anomalies,
per-station and pooled metrics, the stations left out, and triple collocation.

Every model and product is matched on the same probe-days (soilsat.evaluate.compare: the sparsest model's
days, per scope), so that their station tables compare like with like. Anomalies are taken on each series
as a whole (the probe's daily or hourly record, each model's own predictions) before matching, as QA4SM does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from soilsat.evaluate.agreement import IntervalSettings
from soilsat.evaluate.anomalies import AnomalySettings
from soilsat.evaluate.collocation import COLUMNS as TC_COLUMNS
from soilsat.evaluate.collocation import triple_collocation
from soilsat.evaluate.compare import averaged, common_rows, scoped
from soilsat.evaluate.matching import DAILY, MatchingSettings, acquisition_pairs, enough_pairs
from soilsat.evaluate.stations import ANOMALY, RAW, anomaly_methods, key_seed, series_anomalies, station_and_pooled

KEYS = ["scope", "name", "kind"]
DEFAULT_VARIANT = "default"
IN_SITU = "in situ"
MEDIAN = "median of stations"


def model_name(model: object, variant: object) -> str:
    """The name a model goes by in the validation tables: 'lstm_minimum', 'csm', 'fusion_cnn'."""
    return str(model) if str(variant) in (DEFAULT_VARIANT, "", "nan") else f"{model}_{variant}"


def named(predictions: pd.DataFrame) -> pd.DataFrame:
    """Repeat-averaged predictions with their model's name."""
    table = averaged(predictions).copy()
    table["time"] = pd.to_datetime(table["time"])
    table["name"] = [model_name(m, v) for m, v in zip(table["model"], table["variant"])]
    return table


def fusion_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """The Tsagkatakis (2021) validation rows as a comparison table: each variant a model, overlapping patches and
    acquisitions of one day averaged per probe-day; there is no land cover to scope by."""
    held_out = predictions[predictions["split"] == "validation"]
    held_out = held_out.assign(time=pd.to_datetime(held_out["time"]).dt.normalize())  # the day of each acquisition
    table = held_out.groupby(["variant", "probe", "time", "region"], as_index=False)[["observed", "predicted"]].mean()
    return table.assign(model=table["variant"], variant=DEFAULT_VARIANT, landcover=np.nan, repeat="mean")


def observed_anomalies(observed: pd.DataFrame, settings: AnomalySettings) -> pd.DataFrame:
    """The in-situ series (probe, time, observed) with each probe's anomalies as `observed_anomaly`."""
    table = observed.sort_values(["probe", "time"]).reset_index(drop=True)
    return table.assign(observed_anomaly=series_anomalies(table, ["probe"], "observed", settings))


def predicted_anomalies(table: pd.DataFrame, settings: AnomalySettings) -> pd.DataFrame:
    """name, probe, time, predicted_anomaly: each model's own series' anomalies per probe."""
    own = table[np.isfinite(table["predicted"])].sort_values(["name", "probe", "time"]).reset_index(drop=True)
    own = own.assign(predicted_anomaly=series_anomalies(own, ["name", "probe"], "predicted", settings))
    return own[["name", "probe", "time", "predicted_anomaly"]]


def daily_pairs(common: pd.DataFrame, observed: pd.DataFrame, predicted: pd.DataFrame) -> pd.DataFrame:
    """Pairs on the common probe-days, raw and anomalies (kind), from the anomaly tables of the two sides."""
    raw = common[["scope", "name", "probe", "time", "observed", "predicted"]].assign(kind=RAW)
    anomaly = (
        common[["scope", "name", "probe", "time"]]
        .merge(observed[["probe", "time", "observed_anomaly"]], on=["probe", "time"], how="left")
        .merge(predicted, on=["name", "probe", "time"], how="left")
        .rename(columns={"observed_anomaly": "observed", "predicted_anomaly": "predicted"})
        .assign(kind=ANOMALY)
    )
    return pd.concat([raw, anomaly[raw.columns]], ignore_index=True)


def sentinel1_pairs(
    common: pd.DataFrame,
    hourly: pd.DataFrame,
    predicted: pd.DataFrame,
    acquisitions: pd.DataFrame,
    window_hours: float,
) -> pd.DataFrame:
    """Pairs at the Sentinel-1 acquisitions over each probe on the common days, raw and anomalies (kind): the
    hourly in-situ value nearest the acquisition within the window, each model's prediction of that day."""
    region_of = common.groupby("probe")["region"].first()
    frames = []
    for scope, rows in common.groupby("scope", sort=True):
        days = rows[["name", "probe", "time", "predicted"]]
        anomalies = days[["name", "probe", "time"]].merge(predicted, on=["name", "probe", "time"], how="left")
        for kind, obs, pred in (
            (RAW, hourly[["probe", "time", "observed"]], days),
            (
                ANOMALY,
                hourly[["probe", "time", "observed_anomaly"]].rename(columns={"observed_anomaly": "observed"}),
                anomalies.rename(columns={"predicted_anomaly": "predicted"}),
            ),
        ):
            pairs = acquisition_pairs(obs, pred, acquisitions, region_of, window_hours)
            frames.append(pairs.assign(scope=scope, kind=kind))
    columns = ["scope", "name", "probe", "time", "observed", "predicted", "kind"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def common_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """The common probe-days of every model (per scope) with the models' names."""
    table = scoped(common_rows(predictions))
    table["name"] = [model_name(m, v) for m, v in zip(table["model"], table["variant"])]
    return table


def matched_pairs(
    predictions: pd.DataFrame,
    observed: pd.DataFrame,
    matching: MatchingSettings,
    anomaly: AnomalySettings,
    acquisitions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every model's pairs with the in-situ values as the study matches them, raw and as anomalies.

    `predictions`: the models' tidy tables stacked; `observed`: the in-situ series (probe, time, observed), daily
    for daily matching, hourly for matching at the Sentinel-1 acquisitions (`acquisitions`: region, time).
    """
    table = named(predictions)
    common = common_table(table)
    own = predicted_anomalies(table, anomaly)
    reference = observed_anomalies(observed, anomaly)
    if matching.matching == DAILY:
        return daily_pairs(common, reference, own)
    if acquisitions is None:
        raise ValueError("matching at the Sentinel-1 acquisitions needs their times")
    return sentinel1_pairs(common, reference, own, acquisitions, matching.window_hours)


def station_tables(
    pairs: pd.DataFrame,
    observed: pd.DataFrame,
    matching: MatchingSettings,
    anomaly: AnomalySettings,
    intervals: IntervalSettings,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-station and pooled metrics of the pairs (stations with enough pairs), and the stations left out."""
    kept, short = enough_pairs(pairs, [*KEYS, "probe"], matching.min_pairs)
    metrics = station_and_pooled(kept, KEYS, intervals, seed)
    methods = anomaly_methods(observed, ["probe"], "observed", anomaly).set_index("probe")["anomaly_method"]
    reference = metrics["probe"].map(methods).fillna("per station")
    metrics["anomaly_reference"] = np.where(metrics["kind"] == ANOMALY, reference, "")
    metrics.insert(3, "matching", matching.matching)
    short = short.assign(matching=matching.matching, min_pairs=matching.min_pairs)
    return metrics, short


def collocation_table(
    pairs: pd.DataFrame,
    models: Sequence[str],
    products: Sequence[str],
    min_triplets: int,
    intervals: IntervalSettings,
    seed: int,
) -> pd.DataFrame:
    """Triple collocation of in situ, each model and each independent product at every station with enough
    triplets, and the median over those stations, on raw values and anomalies."""
    wide = pairs.pivot_table(index=["scope", "kind", "probe", "time"], columns="name", values="predicted")
    observed = pairs.groupby(["scope", "kind", "probe", "time"])["observed"].first()
    wide = wide.join(observed)
    rows = []
    for (scope, kind, probe), group in wide.groupby(level=["scope", "kind", "probe"], sort=True):
        for model in models:
            for product in products:
                if model not in group or product not in group:
                    continue
                series = [group["observed"].to_numpy(), group[model].to_numpy(), group[product].to_numpy()]
                if np.isfinite(np.column_stack(series)).all(axis=1).sum() < min_triplets:
                    continue
                key = key_seed(seed, scope, kind, probe, model, product)
                results = triple_collocation(series, intervals.confidence, intervals.bootstrap_samples, key)
                for estimate, result in zip((IN_SITU, model, product), results):
                    rows.append(
                        {"scope": scope, "kind": kind, "model": model, "product": product, "probe": probe}
                        | {"estimate": estimate}
                        | result
                    )
    columns = ["scope", "kind", "model", "product", "probe", "estimate", "stations", *TC_COLUMNS]
    stations = pd.DataFrame(rows).assign(stations=1) if rows else pd.DataFrame(columns=columns)
    if stations.empty:
        return stations[columns]
    keys = ["scope", "kind", "model", "product", "estimate"]
    median = stations.groupby(keys, sort=True)[list(TC_COLUMNS)].median().reset_index()
    median["stations"] = stations.groupby(keys, sort=True).size().to_numpy()
    median["probe"] = MEDIAN
    return pd.concat([stations[columns], median[columns]], ignore_index=True)
