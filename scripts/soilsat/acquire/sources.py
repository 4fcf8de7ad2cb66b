"""Names of the data sources the acquire stage knows (standard library only: the Snakefile imports it)."""

PRODUCT_SOURCES = ("sentinel1", "sentinel2")
ANCILLARY_SOURCES = ("ismn", "weather", "dem", "landcover", "soil", "lucas", "csm", "ecv_sm")

SENTINEL2_PRODUCT_TYPES = {"L2A": "S2MSI2A", "L1C": "S2MSI1C"}


def product_type(source: str, sentinel2_level: str) -> str | None:
    """The catalog product type a source is searched for (None: any)."""
    if source == "sentinel1":
        return "IW_GRDH_1S"
    if source == "sentinel2":
        return SENTINEL2_PRODUCT_TYPES[sentinel2_level]
    return None


# Config sections handed to a real provider (with `regions` and `grid`).
PROVIDER_SECTIONS = (
    "regions",
    "grid",
    "cdse",
    "orbits",
    "ismn",
    "weather",
    "dem",
    "landcover",
    "soil",
    "lucas",
    "csm",
    "ecv_sm",
)


def check_inputs(config: dict) -> None:
    """Stop with a ConfigError naming the key when a study asks for an input soilsat cannot acquire yet."""
    from soilsat.errors import ConfigError

    if config["provider"] == "demo":
        return  # the demo world has a coarse product of its own, standing in for SMAP
    if config["smap"]["enabled"]:
        raise ConfigError(
            "config key smap.enabled: SMAP brightness temperatures (Tsagkatakis 2021) are not "
            "supported yet; soilsat acquires only Sentinel-1/2, ISMN, weather, DEM, land cover, "
            "soil and LUCAS. Rehearse the study offline with `make rehearse STUDY=tsagkatakis2021`."
        )
    if "tsagkatakis2021" in config["methods"]:
        raise ConfigError(
            "config key methods: tsagkatakis2021 fuses Sentinel-1 with a coarse radiometer product "
            "(SMAP), which soilsat does not acquire yet for real data; leave it out of methods, or "
            "rehearse it offline with `make rehearse STUDY=tsagkatakis2021`."
        )


def provider_settings(config: dict) -> dict:
    """The config sections a provider reads (what rules pass as `params.settings`)."""
    return {key: config[key] for key in PROVIDER_SECTIONS if key in config}
