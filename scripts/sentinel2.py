"""Rule sentinel2_l2a: one L2A product to masked reflectance and indices on one region's study grid."""

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.grid import grid_from_config
from soilsat.io import write_dataset_cog
from soilsat.logs import to_file
from soilsat.optical.process import l2a_on_grid

with to_file(snakemake.log[0]) as log:
    grid = grid_from_config(snakemake.params.region, snakemake.params.grid)
    masks = snakemake.params.masks
    dataset = l2a_on_grid(
        snakemake.input.product, grid,
        cloud_prob_max=masks["cloud_probability_max"], snow_prob_max=masks["snow_probability_max"],
        scl_invalid=tuple(masks["scl_invalid"]),
    )
    valid_fraction = float(dataset["valid"].mean())
    write_dataset_cog(snakemake.output[0], dataset, grid,
                      tags={"region": grid.region, "valid_fraction": f"{valid_fraction:.4f}", "attribution": COPERNICUS_ATTRIBUTION})
    log.info("%s on %s: valid fraction %.3f", snakemake.wildcards.product, grid.region, valid_fraction)
