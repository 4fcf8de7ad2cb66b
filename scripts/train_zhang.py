"""Rule train_zhang: CNN-LSTM or random forest per covariate group under repeated 5-fold CV (Zhang 2022)."""

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import write_results
from soilsat.logs import to_file
from soilsat.models.runtime import deterministic
from soilsat.models.soc import CnnLstmSettings, run_protocol, soc_data

with to_file(snakemake.log[0]) as log:
    deterministic(snakemake.params.seed, snakemake.threads)
    options = snakemake.params.zhang
    data = soc_data(read_dataset(snakemake.input[0]), options["static_covariates"], source=snakemake.input[0])
    settings = CnnLstmSettings(**{k: options[k] for k in ("epochs", "batch_size", "learning_rate", "units", "layers")})
    predictions = run_protocol(data, snakemake.wildcards.model, options["groups"], options["folds"], options["repeats"],
                               snakemake.params.seed, settings, options["random_forest"], snakemake.threads)
    metrics = write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
    repeats = metrics[metrics["level"] == "repeat"].groupby("variant")["rmse"].agg(["mean", "std"])
    for group, row in repeats.iterrows():
        log.info("%s %s: RMSE over the repeats %.3f +- %.3f", snakemake.wildcards.model, group, row["mean"], row["std"])
