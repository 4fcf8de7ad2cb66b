"""Rule figure_quicklook: a PNG quick-look of one map COG."""

from soilsat.figures.common import save
from soilsat.figures.maps import quicklook
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    save(quicklook(snakemake.input[0]), snakemake.output[0])
