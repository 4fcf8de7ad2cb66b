"""Names of the data sources the acquire stage knows (standard library only: the Snakefile imports it)."""

PRODUCT_SOURCES = ("sentinel1", "sentinel2")
ANCILLARY_SOURCES = ("ismn", "weather", "dem", "landcover", "soil", "lucas")
