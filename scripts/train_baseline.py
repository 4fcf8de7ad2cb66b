"""Rule train_baseline: the climatology or change-detection soil-moisture baseline."""

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import write_results
from soilsat.logs import to_file
from soilsat.models.simonsen.baselines import baseline_settings, run_baseline

with to_file(snakemake.log[0]) as log:
    settings = baseline_settings(snakemake.wildcards.baseline, snakemake.params.settings)
    predictions = run_baseline(read_dataset(snakemake.input[0]), settings, snakemake.params.polarisation)
    write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
