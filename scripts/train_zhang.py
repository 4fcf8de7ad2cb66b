"""Rule train_zhang: CNN-LSTM or random forest per covariate group under repeated 5-fold CV (Zhang 2022)."""

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import write_results
from soilsat.logs import to_file
from soilsat.models.forest import ForestSettings
from soilsat.models.runtime import deterministic
from soilsat.models.zhang.network import CnnLstmSettings
from soilsat.models.zhang.protocol import ProtocolSettings, run_protocol, soc_data

with to_file(snakemake.log[0]) as log:
    deterministic(snakemake.params.seed, snakemake.threads)
    protocol = ProtocolSettings.from_config(snakemake.params.zhang)
    data = soc_data(read_dataset(snakemake.input[0]), protocol.static_covariates, source=snakemake.input[0])
    network = CnnLstmSettings.from_config(snakemake.params.zhang)
    forest = ForestSettings.from_config(snakemake.params.forest)
    predictions = run_protocol(
        data, snakemake.wildcards.model, protocol, network, forest, snakemake.params.seed, snakemake.threads
    )
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    repeats = metrics[metrics["level"] == "repeat"].groupby("variant")["rmse"].agg(["mean", "std"])
    for group, row in repeats.iterrows():
        log.info("%s %s: RMSE over the repeats %.3f +- %.3f", snakemake.wildcards.model, group, row["mean"], row["std"])
