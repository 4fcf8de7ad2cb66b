"""Rule figure_soc_repeats: RMSE and R2 over the repeats per covariate group and model (Zhang 2022 Fig 8)."""

from soilsat.figures.common import read_tables, save
from soilsat.figures.zhang import METRICS_COLUMNS, repeat_boxplots
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    save(repeat_boxplots(read_tables(snakemake.input, METRICS_COLUMNS)), snakemake.output[0])
