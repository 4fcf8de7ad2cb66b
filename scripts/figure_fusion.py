"""Rule figure_fusion: the Tsagkatakis (2021) figures from the stored fusion results (Figs 4-7)."""

from soilsat.cf_netcdf import open_dataset
from soilsat.figures.common import read_tables, save
from soilsat.figures.tsagkatakis import PATCH_COLUMNS, PREDICTIONS_COLUMNS, example, patch_ubrmse, scatter
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    save(scatter(read_tables(snakemake.input.predictions, PREDICTIONS_COLUMNS)), snakemake.output.scatter)
    save(patch_ubrmse(read_tables(snakemake.input.patches, PATCH_COLUMNS)), snakemake.output.ubrmse)
    with open_dataset(snakemake.input.example) as dataset:
        save(example(dataset.load()), snakemake.output.example)
