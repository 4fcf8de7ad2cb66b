"""Rule train_tziolas_cnn: bagged multi-input CNN and its ablations for topsoil clay (Tziolas 2020)."""

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import overall_summary, write_results, write_table
from soilsat.logs import to_file
from soilsat.models.clay import calibration_split, clay_data, run_cnn
from soilsat.models.runtime import deterministic
from soilsat.models.splits import bags
from soilsat.models.tziolas import NetworkSettings

with to_file(snakemake.log[0]) as log:
    seed = snakemake.params.seed
    deterministic(seed, snakemake.threads)
    options = snakemake.params.tziolas
    data = clay_data(read_dataset(snakemake.input[0]), options["observations"], source=snakemake.input[0])
    calibration, test = calibration_split(data, options["calibration_fraction"])
    log.info("Kennard-Stone split of %d samples: %d calibration, %d test", len(data.target), len(calibration),
             len(test))
    members = bags(calibration, options["bags"], options["bag_fraction"], seed)
    settings = NetworkSettings(**{k: options[k] for k in ("epochs", "batch_size", "learning_rate", "l2")})
    predictions, activations = run_cnn(data, calibration, test, members, settings, seed, options["variants"])
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    write_table(activations, snakemake.output.activations)
    log.info("%s", overall_summary(metrics))
