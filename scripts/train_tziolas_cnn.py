"""Rule train_tziolas_cnn: bagged multi-input CNN and its ablations for topsoil clay (Tziolas 2020)."""

import pandas as pd

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import overall_summary, write_results, write_table
from soilsat.logs import to_file
from soilsat.models.runtime import deterministic
from soilsat.models.tziolas.networks import NetworkSettings
from soilsat.models.tziolas.protocol import ProtocolSettings, run_cnn, split_samples

with to_file(snakemake.log[0]) as log:
    seed = snakemake.params.seed
    deterministic(seed, snakemake.threads)
    split = split_samples(
        read_dataset(snakemake.input[0]),
        ProtocolSettings.from_config(snakemake.params.tziolas),
        seed,
        snakemake.input[0],
    )
    log.info(
        "Kennard-Stone split of %d samples: %d calibration, %d test",
        len(split.data.target),
        len(split.calibration),
        len(split.test),
    )
    settings = NetworkSettings.from_config(snakemake.params.tziolas)
    bag_predictions: list[pd.DataFrame] = []  # each bag's test predictions: the ensemble's spread (validation)
    predictions, activations = run_cnn(
        split.data, split.calibration, split.test, split.bags, settings, seed, settings.variants, bag_predictions
    )
    write_table(pd.concat(bag_predictions, ignore_index=True), snakemake.output.members)
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    write_table(activations, snakemake.output.activations)
    log.info("%s", overall_summary(metrics))
