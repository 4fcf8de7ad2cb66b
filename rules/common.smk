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
    method_sources,
    phenology_years,
    product_type,
    search_period,
)

check_config(config)

if config["rehearsal"]["study_file"]:
    # A rehearsal may differ from its study file only in the overlay's keys (soilsat.rehearsal).
    import yaml
    from soilsat.rehearsal import check_overlay

    with open(config["rehearsal"]["study_file"]) as f:
        rehearsed = yaml.safe_load(f)
    validate(rehearsed, "schemas/config.schema.yaml")
    check_overlay(
        rehearsed, config, f"the rehearsal of {config['rehearsal']['study_file']}"
    )

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
    batch="[0-9]+",


def demo_contents():
    """What the demo archive holds for the methods: their sources, the MODIS years and the MOD09GA sampling."""
    first, last = phenology_years(config)
    return {
        "sources": list(method_sources(config)),
        "modis_years": list(range(first, last + 1)),
        "mod09ga_every_days": config["demo"]["mod09ga_every_days"],
    }


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


METHODS = config["methods"]


def soil_moisture_models():
    """The soil-moisture models and products of the Simonsen (2021) comparison, by results folder name.

    The random forest is trained once per LSTM variant, on that variant's inputs and probes.
    """
    variants = config["train"]["lstm"]["variants"]
    return [
        *(f"lstm_{variant}" for variant in variants),
        *(f"random_forest_{variant}" for variant in variants),
        *config["evaluate"]["products"],
        *config["evaluate"]["baselines"],
    ]


def final_outputs():
    """Everything `rule all` asks for, the outputs of each method the study runs."""
    outputs = []
    if "simonsen2021" in METHODS:
        outputs += simonsen_outputs()
    if "tziolas2020" in METHODS:
        outputs += tziolas_outputs()
    if "zhang2022" in METHODS:
        outputs += zhang_outputs()
    if "tsagkatakis2021" in METHODS:
        outputs += tsagkatakis_outputs()
    # each study's Sentinel-1 and Sentinel-2 outputs get a STAC Collection (rules/stac.smk)
    if STAC_SOURCES:
        outputs.append(f"{RESULTS}/stac/collection.json")
    outputs += expand(f"{RESULTS}/tables/paper_{{method}}.md", method=METHODS)
    outputs += validation_outputs()
    return outputs


def paper_table_inputs(wildcards):
    """The metrics tables of a method's models, which its paper table compares with the paper."""
    folders = {
        "simonsen2021": [],
        "tziolas2020": [f"tziolas_{m}" for m in ("cnn", "rf", "ann")],
        "zhang2022": [f"zhang_{m}" for m in ("cnn_lstm", "rf")],
        "tsagkatakis2021": ["tsagkatakis_fusion"],
    }[wildcards.method]
    if wildcards.method == "simonsen2021":
        return [f"{RESULTS}/metrics.csv"]
    return [f"{RESULTS}/models/{folder}/metrics.csv" for folder in folders]


def simonsen_outputs():
    """The probe dataset, the comparison table, the thesis' tables, figures and maps (Simonsen 2021)."""
    return [
        f"{RESULTS}/datasets/probes.nc",
        f"{RESULTS}/metrics.csv",
        *expand(
            f"{RESULTS}/figures/simonsen/{{figure}}.png",
            figure=DATA_FIGURES + MODEL_FIGURES,
        ),
        *expand(
            f"{RESULTS}/tables/mae_{{level}}.{{ext}}",
            level=["landcover", "probe"],
            ext=["csv", "md"],
        ),
        *expand(f"{RESULTS}/maps/ssm_{{region}}", region=REGIONS),
        *expand(f"{RESULTS}/figures/maps/ssm_{{region}}", region=REGIONS),
        *expand(f"{RESULTS}/figures/simonsen/ssm_map_{{region}}.png", region=REGIONS),
    ]


def tziolas_outputs():
    """The sample dataset, clay models, figures and maps (Tziolas 2020), and on the chip route its bytes read."""
    return [
        f"{RESULTS}/datasets/samples.nc",
        *([f"{RESULTS}/tables/chip_costs.csv"] if config["chips"]["enabled"] else []),
        *expand(f"{RESULTS}/maps/clay_{{region}}.tif", region=REGIONS),
        *expand(f"{RESULTS}/figures/maps/clay_{{region}}.png", region=REGIONS),
        f"{RESULTS}/figures/tziolas/clay_maps.png",
        f"{RESULTS}/figures/tziolas/observed_vs_predicted.png",
        f"{RESULTS}/figures/tziolas/filters.png",
    ]


def tsagkatakis_outputs():
    """The patches dataset, the fusion CNN's results and Figs 4-7 (Tsagkatakis 2021)."""
    return [
        f"{RESULTS}/datasets/patches.nc",
        *expand(
            f"{RESULTS}/figures/tsagkatakis/{{figure}}.png",
            figure=["scatter", "ubrmse", "example"],
        ),
    ]


def nasa_source(source):
    """The fetched folder of an Earthdata source and its catalog (the granules' times and regions)."""
    return {
        source: f"{ANCILLARY}/{source}",
        f"{source}_catalog": f"{RESULTS}/catalog/{source}.csv",
    }


def fusion_inputs(wildcards):
    """The SMAP products of the Tsagkatakis patches, and the Sentinel-1 index when sigma0 comes from soilsat's chain."""
    inputs = {}
    for source in ("smap_l1c_tb", "smap_l2_sm", "smap_l2_sm_sp"):
        inputs |= nasa_source(source)
    if config["train"]["tsagkatakis"]["sigma0_source"] == "sentinel1":
        inputs["sentinel1"] = f"{RESULTS}/index/sentinel1.csv"
    return inputs


def covariate_inputs(wildcards):
    """The phenology inputs of a region's covariates: the MODIS granules, or the Sentinel-2 raster index."""
    if config["extract"]["windows"]["phenology"] == "sentinel2":
        return {"sentinel2": f"{RESULTS}/index/sentinel2.csv"}
    return nasa_source("mcd12q2") | nasa_source("mod09ga")


def zhang_outputs():
    """The window dataset, organic-carbon models, figures and maps (Zhang 2022)."""
    return [
        f"{RESULTS}/datasets/windows.nc",
        *expand(f"{RESULTS}/maps/soc_{{region}}.tif", region=REGIONS),
        *expand(f"{RESULTS}/figures/maps/soc_{{region}}.png", region=REGIONS),
        f"{RESULTS}/figures/zhang/soc_maps.png",
        f"{RESULTS}/figures/zhang/repeats.png",
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


# Chip route of point studies (rules/chips.smk)
def chip_batch_files(source, suffix):
    """The per-batch files of a source on the chip route (`suffix`: parquet or costs.csv), once the points are
    batched."""
    with open(checkpoints.chip_points.get().output[0], newline="") as f:
        batches = sorted({int(row["batch"]) for row in csv.DictReader(f)})
    separator = "." if suffix == "parquet" else "_"
    return [
        f"{RESULTS}/chips/{source}/batch_{batch}{separator}{suffix}"
        for batch in batches
    ]


def chip_search_inputs(wildcards):
    """The chip route's points, and the product list of a source when its items come from one (the demo chip
    archive's, with demo.chip_archive)."""
    listed = config["chips"][wildcards.source].get("items_file")
    if config["demo"]["chip_archive"]:
        listed = f"{RESOURCES}/chip_archive/{wildcards.source}.json"
    return {"points": f"{RESULTS}/chips/points.csv"} | (
        {"listed": listed} if listed else {}
    )


def chip_read_inputs(wildcards):
    """The demo chip archive's files, which a chip job serves over loopback HTTP (demo.chip_archive)."""
    if config["demo"]["chip_archive"]:
        return {"served": f"{RESOURCES}/chip_archive/files"}
    return {}


def chip_radar_requests_file(wildcards):
    """A batch's Sentinel-1 requests (each product to read and its points), once its checkpoint has run."""
    return checkpoints.chip_radar_requests.get(batch=wildcards.batch).output[0]


def chip_orbit_inputs(wildcards):
    """The orbit file of every Sentinel-1 product a batch reads, fetched as the region route fetches them (none from
    the demo provider, whose products' annotations hold their exact orbits)."""
    if config["provider"] == "demo":
        return {}
    with open(chip_radar_requests_file(wildcards)) as f:
        products = sorted(json.load(f))
    return {"orbits": [f"{RESOURCES}/orbits/{product}.EOF" for product in products]}


def sample_inputs(wildcards):
    """The inputs of the sample dataset: the chip route's points and batch values (chips.enabled), or the raster
    indexes and the LUCAS table of the region route."""
    if config["chips"]["enabled"]:
        return {
            "points": f"{RESULTS}/chips/points.csv",
            "sentinel2": chip_batch_files("sentinel2", "parquet"),
            "sentinel1": chip_batch_files("sentinel1", "parquet"),
        }
    return {
        "sentinel1": f"{RESULTS}/index/sentinel1.csv",
        "sentinel2": f"{RESULTS}/index/sentinel2.csv",
        "lucas": f"{ANCILLARY}/lucas",
    }
