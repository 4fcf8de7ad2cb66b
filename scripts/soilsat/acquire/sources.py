"""Names of the data sources the acquire stage knows (standard library only: the Snakefile imports it)."""

PRODUCT_SOURCES = ("sentinel1", "sentinel2")
ANCILLARY_SOURCES = ("ismn", "weather", "dem", "landcover", "soil", "lucas")

SENTINEL2_PRODUCT_TYPES = {"L2A": "S2MSI2A", "L1C": "S2MSI1C"}


def product_type(source: str, sentinel2_level: str) -> str | None:
    """The catalog product type a source is searched for (None: any)."""
    if source == "sentinel1":
        return "IW_GRDH_1S"
    if source == "sentinel2":
        return SENTINEL2_PRODUCT_TYPES[sentinel2_level]
    return None
