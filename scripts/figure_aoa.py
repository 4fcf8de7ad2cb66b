"""Rule figure_aoa: a map with its conformal interval width, dissimilarity index and area of applicability."""

from soilsat.figures.common import save
from soilsat.figures.validation import aoa_figure
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    save(aoa_figure(snakemake.input[0]), snakemake.output[0])
