"""Rule demo_coarse_product: the demo world's coarse soil-moisture product of one region, as CF NetCDF."""

from soilsat.cf_netcdf import write_netcdf
from soilsat.demo.archive import open_truth
from soilsat.demo.radiometer import CoarseProductSettings, coarse_product
from soilsat.io import atomic_path
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    settings = CoarseProductSettings.from_config(snakemake.params.coarse_product)
    region = snakemake.wildcards.region
    with open_truth(snakemake.input.truth, region) as truth:
        product = coarse_product(truth.load(), settings, snakemake.params.seed)
    with atomic_path(snakemake.output[0]) as tmp:
        write_netcdf(product, tmp)
    log.info(
        "coarse product of %s: %d days on %d x %d pixels of %g m (footprint FWHM %g pixels, bias %g m3/m3, "
        "seasonal error %g m3/m3)",
        region,
        product.sizes["time"],
        product.sizes["y"],
        product.sizes["x"],
        settings.resolution_m,
        settings.footprint_fwhm_px,
        settings.bias,
        settings.seasonal_error,
    )
