"""Rule figure_quicklook_ssm: a PNG quick-look of every soil-moisture map COG of one region."""

from soilsat.figures.maps import quicklook_folder
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    written = quicklook_folder(snakemake.input[0], snakemake.output[0])
    log.info("%d soil-moisture quick-looks written to %s", len(written), snakemake.output[0])
