"""Rule train_lstm: the Simonsen (2021) LSTM of one variant under leave-one-probe-out."""

import xarray as xr

from soilsat.evaluate.store import write_results
from soilsat.logs import to_file
from soilsat.models.lstm import LstmSettings
from soilsat.models.runtime import deterministic, device
from soilsat.models.simonsen import run_lstm

with to_file(snakemake.log[0]) as log:
    deterministic(snakemake.params.seed, snakemake.threads)
    options = dict(snakemake.params.lstm)
    options.pop("variants")
    options.pop("threads")
    target = device(options.pop("device"))
    settings = LstmSettings(**options)
    predictions = run_lstm(xr.load_dataset(snakemake.input[0]), snakemake.wildcards.variant, settings,
                           snakemake.params.seed, target)
    write_results(predictions, snakemake.output.predictions, snakemake.output.metrics, log)
