# Shared definitions and input functions of the soilsat workflow.
import csv
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
RESULTS = f"results/{STUDY}"
LOGS = f"logs/{STUDY}"
REGIONS = [region["name"] for region in config["regions"]]
# Raw data are shared between studies of one provider; a demo world belongs to its study.
RESOURCES = (
    f"resources/demo/{STUDY}"
    if config["provider"] == "demo"
    else f"resources/{config['provider']}"
)


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


def product_rasters(source):
    """An input function: the processed raster of every (region, product) of a source."""

    def rasters(wildcards):
        return sorted(
            f"{RESULTS}/{source}/{region}/{row['name']}.tif"
            for row in catalog_rows(source)
            for region in row["regions"].split(";")
            if region in REGIONS
        )

    return rasters


def final_outputs():
    """Everything `rule all` asks for."""
    return [
        f"{RESULTS}/metrics.csv",
        f"{RESULTS}/figures/observed_vs_predicted.png",
        f"{RESULTS}/figures/probe_timeseries.png",
        f"{RESULTS}/datasets/probes.nc",
        f"{RESULTS}/datasets/samples.nc",
        f"{RESULTS}/datasets/windows.nc",
    ]
