"""Rule figure_protocols: the paper's protocol beside random and spatially blocked cross-validation."""

from soilsat.figures.common import read_tables, save
from soilsat.figures.validation import protocols_figure
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    table = read_tables(snakemake.input[0], ["protocol", "model", "rmse", "r2"])
    save(protocols_figure(table, snakemake.params.units), snakemake.output[0])
