"""Rule train_tziolas_ann: the ANN baseline on median spectra and coordinates (Tziolas 2020)."""

import xarray as xr

from soilsat.evaluate.store import overall_summary, write_results
from soilsat.logs import to_file
from soilsat.models.clay import calibration_split, clay_data, run_ann
from soilsat.models.runtime import deterministic
from soilsat.models.tziolas import CnnSettings

with to_file(snakemake.log[0]) as log:
    deterministic(snakemake.params.seed, snakemake.threads)
    options = snakemake.params.tziolas
    data = clay_data(xr.load_dataset(snakemake.input[0]), options["observations"], source=snakemake.input[0])
    calibration, test = calibration_split(data, options["calibration_fraction"])
    predictions = run_ann(data, calibration, test, CnnSettings(**options["ann"]), snakemake.params.seed)
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    log.info("%s", overall_summary(metrics))
