"""Rule figure_map_panels: the maps of one quantity, a panel per region (Tziolas 2020 Fig 13, Zhang 2022 Fig 9)."""

from soilsat.figures.common import save
from soilsat.figures.maps import map_panels
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    save(map_panels(snakemake.input, snakemake.params.title), snakemake.output[0])
