"""Rule train_tziolas_cnn: bagged multi-input CNN and its ablations for topsoil clay (Tziolas 2020)."""

import xarray as xr

from soilsat.evaluate.store import overall_summary, write_results, write_table
from soilsat.logs import to_file
from soilsat.models.clay import calibration_split, clay_data, run_cnn
from soilsat.models.runtime import deterministic
from soilsat.models.tziolas import CnnSettings

with to_file(snakemake.log[0]) as log:
    deterministic(snakemake.params.seed, snakemake.threads)
    options = snakemake.params.tziolas
    data = clay_data(xr.load_dataset(snakemake.input[0]), options["observations"], source=snakemake.input[0])
    calibration, test = calibration_split(data, options["calibration_fraction"])
    log.info("Kennard-Stone split of %d samples: %d calibration, %d test", len(data.target), len(calibration), len(test))
    settings = CnnSettings(**{k: options[k] for k in ("epochs", "batch_size", "learning_rate", "l2", "bags", "bag_fraction")})
    predictions, activations = run_cnn(data, calibration, test, settings, snakemake.params.seed, options["variants"])
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    write_table(activations, snakemake.output.activations)
    log.info("%s", overall_summary(metrics))
