"""Rule table_mae: MAE per land cover (Simonsen Table 4) or per probe (Table B1) and model, as CSV and Markdown."""

import pandas as pd

from soilsat.figures.tables import mae_table, write_table
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    table = mae_table(pd.read_csv(snakemake.input[0]), snakemake.wildcards.level)
    write_table(table, snakemake.output.csv, snakemake.output.markdown)
    log.info("MAE per %s: %d rows, %d models", snakemake.wildcards.level, len(table), table.shape[1] - 1)
