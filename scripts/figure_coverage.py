"""Rule figure_coverage: held-out coverage of the conformal intervals of every model against the nominal level."""

from soilsat.figures.common import read_tables, save
from soilsat.figures.validation import coverage_figure
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    table = read_tables(snakemake.input[0], ["model", "variant", "level", "coverage", "mean_width"])
    save(coverage_figure(table, snakemake.params.units), snakemake.output[0])
