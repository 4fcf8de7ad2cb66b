"""Rule train_lstm: the Simonsen (2021) LSTM of one variant under leave-one-probe-out."""

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.store import write_results
from soilsat.logs import to_file
from soilsat.models.runtime import deterministic, device
from soilsat.models.simonsen.inputs import InputSettings
from soilsat.models.simonsen.lstm import LstmSettings
from soilsat.models.simonsen.protocol import run_lstm

with to_file(snakemake.log[0]) as log:
    deterministic(snakemake.params.seed, snakemake.threads)
    predictions = run_lstm(
        read_dataset(snakemake.input[0]),
        snakemake.wildcards.variant,
        InputSettings.from_config(snakemake.params.inputs),
        LstmSettings.from_config(snakemake.params.lstm),
        snakemake.params.seed,
        device(snakemake.params.device),
    )
    write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
