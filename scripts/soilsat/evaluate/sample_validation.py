"""Validation of the point studies (Tziolas 2020 clay, Zhang 2022 organic carbon) on their held-out samples:
pytesmo's metrics with intervals for every model, over all samples and per stratum, and each sample's error."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from soilsat.evaluate.agreement import COLUMNS, IntervalSettings
from soilsat.evaluate.compare import averaged
from soilsat.evaluate.probe_validation import model_name
from soilsat.evaluate.stations import scored

ALL = "all samples"


def sample_pairs(predictions: pd.DataFrame, strata: pd.DataFrame) -> pd.DataFrame:
    """The held-out (repeat-averaged) prediction of every sample by every model, with its strata and error."""
    table = averaged(predictions)
    table = table.assign(name=[model_name(m, v) for m, v in zip(table["model"], table["variant"])])
    table = table.drop(columns=[c for c in strata.columns if c != "sample" and c in table]).merge(
        strata, on="sample", how="left"
    )
    return table.assign(error=table["predicted"] - table["observed"])


def sample_scores(pairs: pd.DataFrame, strata: Sequence[str], settings: IntervalSettings, seed: int) -> pd.DataFrame:
    """Metrics per model over all samples and per stratum of each kind (stratified_by, stratum), stacked."""
    overall = scored(pairs, ["name"], settings, seed).assign(stratified_by=ALL, stratum=ALL)
    frames = [overall]
    for stratum in strata:
        table = scored(pairs, ["name", stratum], settings, seed).rename(columns={stratum: "stratum"})
        frames.append(table.assign(stratified_by=stratum))
    columns = ["name", "stratified_by", "stratum", *COLUMNS]
    return pd.concat(frames, ignore_index=True)[columns]
