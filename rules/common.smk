# Shared definitions and input functions of the soilsat workflow.
import csv
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from soilsat.config import check as check_config  # noqa: E402
from soilsat.acquire.sources import (  # noqa: E402
    ANCILLARY_SOURCES,
    PRODUCT_SOURCES,
    product_type,
)

check_config(config)

STUDY = config["study"]
# Recorded in every dataset so it can be traced to the configuration that made it
# (the sections that shape the data; model, map and figure settings are left out).
CONFIG_HASH = hashlib.sha256(
    json.dumps(
        {k: v for k, v in config.items() if k not in ("train", "maps", "figures")},
        sort_keys=True,
        default=str,
    ).encode()
).hexdigest()
RESULTS = f"results/{STUDY}"
LOGS = f"logs/{STUDY}"
REGIONS = [region["name"] for region in config["regions"]]
# Raw data are shared between studies of one provider; a demo world belongs to its study.
RESOURCES = (
    f"resources/demo/{STUDY}"
    if config["provider"] == "demo"
    else f"resources/{config['provider']}"
)
# Ancillary data (probes, weather, DEM, maps, samples) are clipped to a study's regions.
ANCILLARY = RESOURCES if config["provider"] == "demo" else f"{RESOURCES}/{STUDY}"


wildcard_constraints:
    region="|".join(REGIONS),
    source="|".join(PRODUCT_SOURCES + ANCILLARY_SOURCES),
    kind="|".join(ANCILLARY_SOURCES),
    product="[A-Za-z0-9_]+",


def region_config(wildcards):
    """The configuration entry of the region named by the wildcard."""
    return next(r for r in config["regions"] if r["name"] == wildcards.region)


def provider_inputs(wildcards):
    """Local inputs a provider's search needs (the demo archive, for the demo provider)."""
    if config["provider"] == "demo":
        return {"archive": f"{RESOURCES}/archive"}
    return {}


def catalog_rows(source):
    """Rows of a source's catalog, once its search checkpoint has run."""
    path = checkpoints.search.get(source=source).output[0]
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def product_rasters(source, of_region=False):
    """An input function: the processed raster of every (region, product) of a source,
    or, with `of_region`, of the products of the `region` wildcard only."""

    def rasters(wildcards):
        wanted = [wildcards.region] if of_region else REGIONS
        return sorted(
            f"{RESULTS}/{source}/{region}/{row['name']}.tif"
            for row in catalog_rows(source)
            for region in row["regions"].split(";")
            if region in wanted
        )

    return rasters


PROBE_MODELS = [
    "random_forest",
    "lstm_full",
    "lstm_minimum",
    "lstm_agriculture",
    "climatology",
    "change_detection",
]


def model_tables(kind):
    """The `kind` table (predictions or metrics) of every soil-moisture model."""
    return [f"{RESULTS}/models/{model}/{kind}.csv" for model in PROBE_MODELS]


def final_outputs():
    """Everything `rule all` asks for."""
    return [
        f"{RESULTS}/metrics.csv",
        *figure_outputs(),
        f"{RESULTS}/datasets/probes.nc",
        *expand(f"{RESULTS}/maps/ssm_{{region}}", region=REGIONS),
        *expand(f"{RESULTS}/figures/simonsen/ssm_map_{{region}}.png", region=REGIONS),
    ] + (sample_outputs() if uses_samples() else [])


def figure_outputs():
    """The figures and tables of rules/figures.smk whose inputs the workflow makes today."""
    figures = [
        *expand(
            f"{RESULTS}/figures/simonsen/{{figure}}.png",
            figure=DATA_FIGURES + MODEL_FIGURES,
        ),
        *expand(
            f"{RESULTS}/tables/mae_{{level}}.{{ext}}",
            level=["landcover", "probe"],
            ext=["csv", "md"],
        ),
        *expand(f"{RESULTS}/figures/maps/ssm_{{region}}", region=REGIONS),
    ]
    if uses_samples():
        figures += [
            f"{RESULTS}/figures/tziolas/clay_maps.png",
            f"{RESULTS}/figures/zhang/soc_maps.png",
            *expand(
                f"{RESULTS}/figures/maps/{{quantity}}_{{region}}.png",
                quantity=["clay", "soc"],
                region=REGIONS,
            ),
            f"{RESULTS}/figures/tziolas/observed_vs_predicted.png",
            f"{RESULTS}/figures/tziolas/filters.png",
            f"{RESULTS}/figures/zhang/repeats.png",
        ]
    # The fusion CNN's coarse product comes from the demo world (SMAP is not supported).
    if config["provider"] == "demo":
        figures += expand(
            f"{RESULTS}/figures/tsagkatakis/{{figure}}.png",
            figure=["scatter", "ubrmse", "example"],
        )
    return figures


def uses_samples():
    """Whether the study has LUCAS-like samples (the demo world always has)."""
    return config["provider"] == "demo" or bool(config["lucas"]["path"])


def sample_outputs():
    """The sample datasets and the clay and organic-carbon maps made from them."""
    return [
        f"{RESULTS}/datasets/samples.nc",
        f"{RESULTS}/datasets/windows.nc",
        *expand(f"{RESULTS}/maps/clay_{{region}}.tif", region=REGIONS),
        *expand(f"{RESULTS}/maps/soc_{{region}}.tif", region=REGIONS),
    ]


# Sentinel-2 inputs
def sentinel2_l2a_input(wildcards):
    """The L2A product of a Sentinel-2 job: the archive's L2A zip, or Sen2Cor's output for an L1C product."""
    if config["sentinel2"]["level"] == "L1C":
        return f"{RESULTS}/sen2cor/{wildcards.product}"
    return f"{RESOURCES}/sentinel2/{wildcards.product}.zip"


def sentinel2_products(wildcards):
    """Every processed Sentinel-2 COG of the study (a target for the optical stage alone)."""
    return product_rasters("sentinel2")(wildcards)


def sentinel1_orbit_input(wildcards):
    """The precise orbit file of a Sentinel-1 product, where the provider delivers one."""
    if config["provider"] == "demo":
        return {}
    return {"orbits": [f"{RESOURCES}/orbits/{wildcards.product}.EOF"]}
