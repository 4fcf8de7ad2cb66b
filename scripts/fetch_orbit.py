"""Rule fetch_orbit: retrieve the precise (else restituted) orbit file of one Sentinel-1 product."""

from pathlib import Path

from soilsat.acquire.catalog import catalog_item, read_catalog
from soilsat.acquire.factory import get_provider
from soilsat.errors import ProductError
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    item = catalog_item(read_catalog(snakemake.input.catalog), snakemake.wildcards.product, snakemake.input.catalog)
    provider = get_provider(snakemake.params.provider, snakemake.input, snakemake.params.settings)
    if not hasattr(provider, "fetch_orbit"):
        raise ProductError(snakemake.output[0], f"provider {snakemake.params.provider!r} delivers no orbit files")
    provider.fetch_orbit(item, Path(snakemake.output[0]))
