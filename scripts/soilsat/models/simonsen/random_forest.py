"""Random-forest soil-moisture model evaluated by leave-one-probe-out."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from soilsat.models.forest import ForestSettings, fit_forest

log = logging.getLogger(__name__)


def training_rows(table: pd.DataFrame, features: Sequence[str], target: str = "ssm") -> pd.DataFrame:
    """Probe-days on which the target and every feature are observed."""
    missing = [c for c in (*features, target) if c not in table]
    if missing:
        raise ValueError(f"probe table lacks columns {missing}")
    return table.dropna(subset=[*features, target])


def leave_one_probe_out(
    table: pd.DataFrame, features: Sequence[str], settings: ForestSettings, seed: int, n_jobs: int, target: str = "ssm"
) -> pd.DataFrame:
    """Predict every probe-day from a forest trained on all other probes; returns the predictions table."""
    rows = training_rows(table, features, target)
    probes = sorted(rows["probe"].unique())
    if len(probes) < 3:
        raise ValueError(
            f"leave-one-probe-out needs at least 3 probes with observed days, found {len(probes)}: {probes}"
        )
    out = []
    for i, probe in enumerate(probes, start=1):
        test = rows["probe"] == probe
        forest = fit_forest(
            rows.loc[~test, list(features)].to_numpy(), rows.loc[~test, target].to_numpy(), settings, seed, n_jobs
        )
        predicted = forest.predict(rows.loc[test, list(features)].to_numpy())
        fold = rows.loc[test, ["probe", "time", "region", "landcover"]].copy()
        fold["landcover"] = fold["landcover"].astype(int)
        fold["observed"] = rows.loc[test, target].to_numpy()
        fold["predicted"] = predicted
        out.append(fold)
        log.info(
            "fold %d of %d (probe %s): %d training days, %d test days, MAE %.4f",
            i,
            len(probes),
            probe,
            int((~test).sum()),
            int(test.sum()),
            float(np.abs(predicted - fold["observed"]).mean()),
        )
    predictions = pd.concat(out, ignore_index=True)
    predictions.insert(0, "model", "random_forest")
    return predictions
