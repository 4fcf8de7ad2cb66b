"""Rules fetch_product, fetch_ancillary and fetch_orbit: retrieve catalog items into resources/."""

from pathlib import Path

from soilsat.acquire.provider import get_provider, item_filename, read_catalog
from soilsat.errors import ProductError
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    catalog = read_catalog(snakemake.input.catalog)
    provider = get_provider(snakemake.params.provider, snakemake.input, snakemake.params.settings)
    output = Path(snakemake.output[0])
    if "product" in snakemake.wildcards.keys():
        name = snakemake.wildcards.product
        item = next((row for row in catalog if row["name"] == name), None)
        if item is None:
            raise ProductError(snakemake.input.catalog, f"no product {name} in the catalog")
        if snakemake.rule == "fetch_orbit":
            if not hasattr(provider, "fetch_orbit"):
                raise ProductError(output, f"provider {snakemake.params.provider!r} delivers no orbit files")
            provider.fetch_orbit(item, output)
        else:
            provider.fetch(item, output)
    else:
        output.mkdir(parents=True, exist_ok=True)
        for i, item in enumerate(catalog, start=1):
            provider.fetch(item, output / item_filename(item))
            log.info("%s: %d of %d items fetched", snakemake.wildcards.kind, i, len(catalog))
