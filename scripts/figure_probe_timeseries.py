"""Rule figure_probe_timeseries: time series at one probe."""

import pandas as pd
import xarray as xr

from soilsat.figures.common import save
from soilsat.figures.simonsen import probe_timeseries
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    dataset = xr.open_dataset(snakemake.input.dataset)
    predictions = pd.read_csv(snakemake.input.predictions)
    save(probe_timeseries(dataset, predictions, snakemake.params.probe), snakemake.output[0])
