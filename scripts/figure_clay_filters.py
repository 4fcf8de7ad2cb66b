"""Rule figure_clay_filters: inputs and clay of the top-activating samples of six CNN filters (Tziolas Figs 10-11)."""

from soilsat.cf_netcdf import read_dataset
from soilsat.figures.common import read_tables, save
from soilsat.figures.tziolas import ACTIVATIONS_COLUMNS, filter_boxplots
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    activations = read_tables(snakemake.input.activations, ACTIVATIONS_COLUMNS)
    with read_dataset(snakemake.input.samples) as samples:
        fig = filter_boxplots(activations, samples.load(), fraction=snakemake.params.fraction)
    save(fig, snakemake.output[0])
