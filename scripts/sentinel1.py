"""Rule sentinel1_sigma0: one GRD product to sigma0 on one region's study grid."""

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.grid import grid_from_config
from soilsat.io import write_dataset_cog
from soilsat.logs import to_file
from soilsat.sar.process import sigma0_on_grid

with to_file(snakemake.log[0]) as log:
    grid = grid_from_config(snakemake.params.region, snakemake.params.grid)
    log.info("calibrating and geocoding %s onto the %s grid", snakemake.wildcards.product, grid.region)
    dataset = sigma0_on_grid(snakemake.input.product, grid, tuple(snakemake.params.polarisations))
    write_dataset_cog(snakemake.output[0], dataset, grid, tags={"region": grid.region, "attribution": COPERNICUS_ATTRIBUTION})
    log.info("valid fraction on the grid: %.3f", float(dataset["mask"].mean()))
