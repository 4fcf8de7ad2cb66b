"""Rule fetch_product: retrieve one Sentinel-1/-2 product of a catalog into resources/, verified."""

from pathlib import Path

from soilsat.acquire.catalog import catalog_item, read_catalog
from soilsat.acquire.factory import get_provider
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    item = catalog_item(read_catalog(snakemake.input.catalog), snakemake.wildcards.product, snakemake.input.catalog)
    get_provider(snakemake.params.provider, snakemake.input, snakemake.params.settings).fetch(
        item, Path(snakemake.output[0])
    )
