"""Checkpoint search: write the catalog of one source over the study's regions and period."""

from soilsat.acquire.catalog import write_catalog
from soilsat.acquire.factory import get_provider
from soilsat.config import period
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    provider = get_provider(snakemake.params.provider, snakemake.input, snakemake.params.settings)
    start, end = period({"period": snakemake.params.period})
    source = snakemake.wildcards.source
    catalog = provider.search(source, snakemake.params.regions, start, end, snakemake.params.product_type)
    log.info("%s: %d items found for regions %s, %s to %s", source, len(catalog), snakemake.params.regions, start, end)
    write_catalog(catalog, snakemake.output[0])
