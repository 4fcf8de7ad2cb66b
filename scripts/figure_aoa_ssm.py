"""Rule figure_aoa_ssm: the interval width, dissimilarity index and area of applicability of every soil-moisture
map of one region."""

from soilsat.figures.validation import aoa_folder
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    written = aoa_folder(snakemake.input[0], snakemake.output[0])
    log.info("%d AOA figures written to %s", len(written), snakemake.output[0])
