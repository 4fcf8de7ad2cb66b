"""Rule train_tziolas_rf: bagged, grid-searched random forests on median spectra or per-date S1 + S2 values
(Tziolas 2020)."""

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import overall_summary, write_results, write_table
from soilsat.logs import to_file
from soilsat.models.clay import calibration_split, clay_data, run_forest
from soilsat.models.splits import bags

with to_file(snakemake.log[0]) as log:
    seed = snakemake.params.seed
    options = snakemake.params.tziolas
    data = clay_data(read_dataset(snakemake.input[0]), options["observations"], source=snakemake.input[0])
    calibration, test = calibration_split(data, options["calibration_fraction"])
    members = bags(calibration, options["bags"], options["bag_fraction"], seed)
    grid = options["random_forest"]
    predictions, search = run_forest(data, calibration, test, members, grid, grid["cv_folds"], seed,
                                     snakemake.threads, grid["variants"])
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    write_table(search, snakemake.output.search)
    log.info("%s", overall_summary(metrics))
