"""Rule train_random_forest: leave-one-probe-out random forest on the probe dataset."""

import xarray as xr

from soilsat.evaluate.metrics import metrics_table
from soilsat.io import atomic_path
from soilsat.logs import to_file
from soilsat.models.forest import DAILY_FEATURES, STATIC_FEATURES, leave_one_probe_out
from soilsat.extract.probes import to_table

with to_file(snakemake.log[0]) as log:
    table = to_table(xr.open_dataset(snakemake.input[0]))
    forest = snakemake.params.forest
    predictions = leave_one_probe_out(
        table, DAILY_FEATURES + STATIC_FEATURES, seed=snakemake.params.seed,
        n_estimators=forest["n_estimators"], min_samples_leaf=forest["min_samples_leaf"], n_jobs=snakemake.threads,
    )
    metrics = metrics_table(predictions)
    with atomic_path(snakemake.output.predictions) as tmp:
        predictions.to_csv(tmp, index=False)
    with atomic_path(snakemake.output.metrics) as tmp:
        metrics.to_csv(tmp, index=False, float_format="%.5f")
    overall = metrics[metrics["level"] == "all"].iloc[0]
    log.info("leave-one-probe-out: MAE %.4f, RMSE %.4f, r %.3f over %d probe-days", overall.mae, overall.rmse, overall.r, overall.n)
