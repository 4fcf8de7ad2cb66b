"""Rule static_layers: terrain, land cover and soil of one region on its study grid."""

from soilsat.extract.static import STATIC_BANDS, region_file, static_layers
from soilsat.grid import grid_from_config
from soilsat.io import write_cog
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    r = snakemake.params.region
    grid = grid_from_config(r, snakemake.params.grid)
    stack = static_layers(
        region_file(snakemake.input.dem, r["name"]),
        region_file(snakemake.input.landcover, r["name"]),
        region_file(snakemake.input.soil, r["name"]),
        grid,
    )
    write_cog(snakemake.output[0], stack, grid, STATIC_BANDS, tags={"region": r["name"]})
    log.info("static layers of %s written: %s", r["name"], ", ".join(STATIC_BANDS))
