"""Rule train_random_forest: leave-one-probe-out random forest on the probe dataset."""

import xarray as xr

from soilsat.evaluate.store import write_results
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
    predictions.insert(1, "variant", "default")
    predictions.insert(2, "repeat", "mean")
    write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
