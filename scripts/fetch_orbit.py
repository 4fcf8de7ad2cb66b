"""Rule fetch_orbit: retrieve the precise (else restituted) orbit file of one Sentinel-1 product, chosen by the
sensing times in the product's name."""

from pathlib import Path

from soilsat.acquire.factory import get_provider
from soilsat.acquire.orbits import product_record
from soilsat.errors import ProductError
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    item = product_record(snakemake.wildcards.product)
    provider = get_provider(snakemake.params.provider, snakemake.input, snakemake.params.settings)
    if not hasattr(provider, "fetch_orbit"):
        raise ProductError(snakemake.output[0], f"provider {snakemake.params.provider!r} delivers no orbit files")
    provider.fetch_orbit(item, Path(snakemake.output[0]))
