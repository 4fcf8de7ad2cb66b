"""Rule sentinel2_l2a: one L2A product to masked reflectance and indices on one region's study grid, with its STAC
Item beside it."""

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.grid import grid_from_config
from soilsat.io import write_dataset_cog
from soilsat.logs import to_file
from soilsat.optical.process import OpticalSettings, l2a_on_grid
from soilsat.stac.items import sentinel2_item, write_item

with to_file(snakemake.log[0]) as log:
    grid = grid_from_config(snakemake.params.region, snakemake.params.grid)
    settings = OpticalSettings.from_config(snakemake.params.sentinel2)
    dataset = l2a_on_grid(snakemake.input.product, grid, settings, aoi_margin_m=snakemake.params.grid["margin_m"])
    tags = {
        "region": grid.region,
        "valid_fraction": f"{dataset.attrs['valid_fraction']:.4f}",
        "source_product": snakemake.wildcards.product,
        "level": snakemake.params.sentinel2["level"],
        "attribution": COPERNICUS_ATTRIBUTION,
    }
    write_dataset_cog(snakemake.output.raster, dataset, grid, tags=tags)
    write_item(
        sentinel2_item(snakemake.output.raster, snakemake.output.item, snakemake.input.product), snakemake.output.item
    )
    log.info(
        "%s on %s: %s, valid fraction over the AOI %.3f",
        snakemake.wildcards.product,
        grid.region,
        dataset.attrs["product"],
        dataset.attrs["valid_fraction"],
    )
