"""Rule metrics_table: the study's metrics of every model in one table."""

import pandas as pd

from soilsat.io import atomic_path
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    table = pd.concat([pd.read_csv(path) for path in snakemake.input], ignore_index=True)
    with atomic_path(snakemake.output[0]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.5f")
    log.info("metrics of %d models written", table["model"].nunique())
