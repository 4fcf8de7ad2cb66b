"""Rule figure_probe_dataset: one figure of the probe dataset (Simonsen 2021, Figs 11-21)."""

from soilsat.cf_netcdf import read_dataset
from soilsat.figures.common import save
from soilsat.figures.simonsen import DATA_FIGURES
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    with read_dataset(snakemake.input[0]) as dataset:
        fig = DATA_FIGURES[snakemake.wildcards.figure](dataset.load(), snakemake.params.probe)
    save(fig, snakemake.output[0])
    log.info("figure %s written", snakemake.wildcards.figure)
