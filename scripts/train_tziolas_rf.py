"""Rule train_tziolas_rf: bagged, grid-searched random forests on median spectra or per-date S1 + S2 values
(Tziolas 2020)."""

import pandas as pd

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import overall_summary, write_results, write_table
from soilsat.logs import to_file
from soilsat.models.tziolas.forest import ForestGrid, run_forest
from soilsat.models.tziolas.protocol import ProtocolSettings, split_samples

with to_file(snakemake.log[0]) as log:
    seed = snakemake.params.seed
    split = split_samples(
        read_dataset(snakemake.input[0]),
        ProtocolSettings.from_config(snakemake.params.tziolas),
        seed,
        snakemake.input[0],
    )
    grid = ForestGrid.from_config(snakemake.params.forest)
    bag_predictions: list[pd.DataFrame] = []  # each bag's test predictions: the ensemble's spread (validation)
    predictions, search = run_forest(
        split.data,
        split.calibration,
        split.test,
        split.bags,
        grid,
        seed,
        snakemake.threads,
        grid.variants,
        bag_predictions,
    )
    write_table(pd.concat(bag_predictions, ignore_index=True), snakemake.output.members)
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    write_table(search, snakemake.output.search)
    log.info("%s", overall_summary(metrics))
