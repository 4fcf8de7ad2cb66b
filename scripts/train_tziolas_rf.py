"""Rule train_tziolas_rf: grid-searched random forests on median spectra, with and without coordinates (Tziolas 2020)."""

import xarray as xr

from soilsat.evaluate.store import overall_summary, write_results, write_table
from soilsat.logs import to_file
from soilsat.models.clay import calibration_split, clay_data, run_forest

with to_file(snakemake.log[0]) as log:
    options = snakemake.params.tziolas
    data = clay_data(xr.load_dataset(snakemake.input[0]), options["observations"], source=snakemake.input[0])
    calibration, test = calibration_split(data, options["calibration_fraction"])
    grid = options["random_forest"]
    predictions, search = run_forest(data, calibration, test, grid, grid["cv_folds"], snakemake.params.seed,
                                     snakemake.threads)
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    write_table(search, snakemake.output.search)
    log.info("%s", overall_summary(metrics))
