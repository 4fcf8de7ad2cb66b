"""Names of the data sources the acquire stage knows, and which of them each method reads (standard library only:
the Snakefile imports it)."""

from __future__ import annotations

import datetime as dt

PRODUCT_SOURCES = ("sentinel1", "sentinel2")
# NASA Earthdata (CMR + Earthdata Login): SMAP for Tsagkatakis (2021), MODIS for Zhang (2022).
EARTHDATA_SOURCES = ("smap_l1c_tb", "smap_l2_sm", "smap_l2_sm_sp", "smap_l3_sm", "mcd12q2", "mod09ga")
ANCILLARY_SOURCES = (
    "ismn",
    "weather",
    "dem",
    "landcover",
    "soil",
    "lucas",
    "climate",
    "csm",
    "ecv_sm",
    *EARTHDATA_SOURCES,
)
# MODIS sources are searched over the phenology years of Zhang (2022), not over the study period.
PHENOLOGY_SOURCES = ("mcd12q2", "mod09ga")

SENTINEL2_PRODUCT_TYPES = {"L2A": "S2MSI2A", "L1C": "S2MSI1C"}

# The first day each product exists (a real study's period must not start before it).
FIRST_DAYS = {
    "sentinel1": dt.date(2014, 10, 3),
    "sentinel2": dt.date(2015, 6, 27),
    "smap_l1c_tb": dt.date(2015, 3, 31),
    "smap_l2_sm": dt.date(2015, 3, 31),
    "smap_l2_sm_sp": dt.date(2015, 3, 31),
    "smap_l3_sm": dt.date(2015, 3, 31),
    "mcd12q2": dt.date(2001, 1, 1),
    "mod09ga": dt.date(2000, 2, 24),
}


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
    "climate",
    "csm",
    "ecv_sm",
    "earthdata",
)


def method_sources(config: dict) -> tuple[str, ...]:
    """The sources the configuration's methods read, in the order of ANCILLARY_SOURCES after the products."""
    wanted: set[str] = set()
    methods = config["methods"]
    if "simonsen2021" in methods:
        wanted |= {"sentinel1", "sentinel2", "ismn", "weather", "dem", "landcover", "soil"}
        wanted |= set(config["evaluate"]["products"])
    if "tziolas2020" in methods:
        wanted |= {"sentinel1", "sentinel2", "lucas", "dem"}
    if "zhang2022" in methods:
        wanted |= {"lucas", "dem", "climate"}
        phenology = config["extract"]["windows"]["phenology"]
        wanted |= {"sentinel2"} if phenology == "sentinel2" else set(PHENOLOGY_SOURCES)
    if "tsagkatakis2021" in methods:
        wanted |= {"ismn", "smap_l1c_tb", "smap_l2_sm", "smap_l2_sm_sp"}
        if config["train"]["tsagkatakis"]["sigma0_source"] == "sentinel1":
            wanted |= {"sentinel1", "dem"}
    return tuple(s for s in PRODUCT_SOURCES + ANCILLARY_SOURCES if s in wanted)


def phenology_years(config: dict) -> tuple[int, int]:
    """First and last year of the Zhang (2022) phenology series: extract.windows.years years ending with
    extract.windows.last_year (null: the year the study period ends)."""
    windows = config["extract"]["windows"]
    last = windows["last_year"] or int(str(config["period"]["end"])[:4])
    return last - int(windows["years"]) + 1, last


def search_period(config: dict, source: str) -> dict[str, str]:
    """The period a source is searched over: the phenology years for the MODIS sources, else the study period."""
    if source in PHENOLOGY_SOURCES:
        first, last = phenology_years(config)
        return {"start": f"{first}-01-01", "end": f"{last}-12-31"}
    return {"start": str(config["period"]["start"]), "end": str(config["period"]["end"])}


def check_inputs(config: dict) -> None:
    """Stop with a ConfigError naming the key when a real study asks for data before its product exists."""
    from soilsat.errors import ConfigError

    if config["provider"] == "demo":
        return  # the demo world writes every product over any period
    for source in method_sources(config):
        first = FIRST_DAYS.get(source)
        start = dt.date.fromisoformat(search_period(config, source)["start"])
        if first is not None and start < first:
            key = "extract.windows.last_year/years" if source in PHENOLOGY_SOURCES else "period.start"
            raise ConfigError(
                f"config key {key}: the study reads {source} from {start}, but the product begins on {first}"
            )


def provider_settings(config: dict) -> dict:
    """The config sections a provider reads (what rules pass as `params.settings`)."""
    return {key: config[key] for key in PROVIDER_SECTIONS if key in config}
