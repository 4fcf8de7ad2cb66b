"""Rule train_tziolas_ann: the bagged ANN baseline on median spectra or per-date S1 + S2 values (Tziolas 2020)."""

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import overall_summary, write_results
from soilsat.logs import to_file
from soilsat.models.clay import calibration_split, clay_data, run_ann
from soilsat.models.runtime import deterministic
from soilsat.models.splits import bags
from soilsat.models.tziolas import NetworkSettings

with to_file(snakemake.log[0]) as log:
    seed = snakemake.params.seed
    deterministic(seed, snakemake.threads)
    options = snakemake.params.tziolas
    data = clay_data(read_dataset(snakemake.input[0]), options["observations"], source=snakemake.input[0])
    calibration, test = calibration_split(data, options["calibration_fraction"])
    members = bags(calibration, options["bags"], options["bag_fraction"], seed)
    ann = options["ann"]
    settings = NetworkSettings(**{k: ann[k] for k in ("epochs", "batch_size", "learning_rate", "l2")})
    predictions = run_ann(data, calibration, test, members, settings, seed, ann["variants"])
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    log.info("%s", overall_summary(metrics))
