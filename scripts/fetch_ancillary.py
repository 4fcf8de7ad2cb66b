"""Rule fetch_ancillary: retrieve every item of an ancillary source's catalog into its folder under resources/."""

from pathlib import Path

from soilsat.acquire.catalog import item_filename, read_catalog
from soilsat.acquire.factory import get_provider
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    catalog = read_catalog(snakemake.input.catalog)
    provider = get_provider(snakemake.params.provider, snakemake.input, snakemake.params.settings)
    output = Path(snakemake.output[0])
    output.mkdir(parents=True, exist_ok=True)
    for i, item in enumerate(catalog, start=1):
        provider.fetch(item, output / item_filename(item))
        log.info("%s: %d of %d items fetched", snakemake.wildcards.kind, i, len(catalog))
