"""Rule train_random_forest: leave-one-probe-out random forest on the inputs and probes of one LSTM variant."""

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import write_results
from soilsat.extract.probes import to_table
from soilsat.logs import to_file
from soilsat.models.forest import ForestSettings
from soilsat.models.simonsen.inputs import InputSettings, features, variant_probes
from soilsat.models.simonsen.random_forest import leave_one_probe_out

with to_file(snakemake.log[0]) as log:
    variant = snakemake.wildcards.variant
    dataset = read_dataset(snakemake.input[0])
    names = features(dataset, variant, InputSettings.from_config(snakemake.params.inputs))
    log.info("random forest %s: inputs %s", variant, ", ".join(names))
    predictions = leave_one_probe_out(
        to_table(variant_probes(dataset, variant)),
        names,
        ForestSettings.from_config(snakemake.params.forest),
        snakemake.params.seed,
        snakemake.threads,
    )
    predictions.insert(1, "variant", variant)
    predictions.insert(2, "repeat", "mean")
    write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
