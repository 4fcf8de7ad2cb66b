"""Rules fetch_product and fetch_ancillary: retrieve catalog items into resources/."""

from pathlib import Path

from soilsat.acquire.provider import get_provider, read_catalog
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    catalog = read_catalog(snakemake.input.catalog)
    provider = get_provider(snakemake.params.provider, snakemake.input)
    output = Path(snakemake.output[0])
    if "product" in snakemake.wildcards.keys():
        item = next(row for row in catalog if row["name"] == snakemake.wildcards.product)
        provider.fetch(item, output)
    else:
        output.mkdir(parents=True, exist_ok=True)
        for i, item in enumerate(catalog, start=1):
            provider.fetch(item, output / Path(item["href"]).name)
            log.info("%s: %d of %d items fetched", snakemake.wildcards.kind, i, len(catalog))
