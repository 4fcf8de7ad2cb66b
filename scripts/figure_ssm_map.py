"""Rule figure_ssm_map: the first soil-moisture map of a region beside the sigma0 it was predicted from."""

from pathlib import Path

import rasterio

from soilsat.errors import ProductError
from soilsat.figures.common import save
from soilsat.figures.simonsen import ssm_map_with_sigma0
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    maps = sorted(Path(snakemake.input.maps).glob("*.tif"))
    if not maps:
        raise ProductError(snakemake.input.maps, "holds no soil-moisture map; raise maps.ssm_dates above 0")
    with rasterio.open(maps[0]) as src:
        product = src.tags()["sentinel1_product"]
    sigma0 = next((p for p in snakemake.input.sentinel1 if Path(p).stem == product), None)
    if sigma0 is None:
        raise ProductError(maps[0], f"names Sentinel-1 product {product}, which is not among the processed rasters")
    save(ssm_map_with_sigma0(maps[0], sigma0), snakemake.output[0])
