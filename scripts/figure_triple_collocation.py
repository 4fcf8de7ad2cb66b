"""Rule figure_triple_collocation: error standard deviation and SNR of in situ, model and product per station."""

from soilsat.figures.common import read_tables, save
from soilsat.figures.validation import collocation_figure
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    table = read_tables(snakemake.input[0], ["scope", "kind", "model", "product", "probe", "estimate", "err_std"])
    save(collocation_figure(table), snakemake.output[0])
