"""Checks on a validated configuration and the objects derived from it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from soilsat.errors import ConfigError

if TYPE_CHECKING:  # the Snakefile imports this module with only the standard library at hand
    from soilsat.grid import StudyGrid

# Size and difficulty of the named demo worlds; config keys under `demo:` override them (WorldSpec.from_config).
DEMO_PRESETS: dict[str, dict[str, float]] = {
    "default": dict(
        probes_per_region=12,
        lucas_samples=300,
        s1_repeat_days=12,
        s2_revisit_days=5,
        speckle_looks=4.4,
        cloud_fraction=0.3,
        probe_noise=0.02,
    ),
    "tiny": dict(
        probes_per_region=4,
        lucas_samples=40,
        s1_repeat_days=12,
        s2_revisit_days=10,
        speckle_looks=4.4,
        cloud_fraction=0.2,
        probe_noise=0.02,
    ),
}


def check(config: Mapping) -> None:
    """Raise ConfigError for what the schema cannot express (naming the key)."""
    start, end = period(config)
    if end < start:
        raise ConfigError(f"config key period.end ({end}) is before period.start ({start})")
    names = [r["name"] for r in config["regions"]]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"config key regions: duplicate region names {duplicates}")
    if config["extract"]["windows"]["size"] % 2 == 0:
        raise ConfigError(f"config key extract.windows.size must be odd, got {config['extract']['windows']['size']}")
    pols = config["sentinel1"]["polarisations"]
    unprocessed = [p for p in config["train"]["inputs"]["polarisations"] if p not in pols]
    if unprocessed:
        raise ConfigError(f"config key train.inputs.polarisations: {unprocessed} not in sentinel1.polarisations {pols}")
    for method in ("tziolas2020", "tsagkatakis2021"):
        if method in config["methods"] and not {"VV", "VH"} <= set(pols):
            raise ConfigError(f"config key sentinel1.polarisations: method {method} reads sigma0 VV and VH, got {pols}")
    check_chips(config)
    if config["demo"]["preset"] not in DEMO_PRESETS:
        raise ConfigError(
            f"config key demo.preset: unknown preset {config['demo']['preset']!r}; choose one of {sorted(DEMO_PRESETS)}"
        )


def check_chips(config: Mapping) -> None:
    """ConfigError for a chip route (config section chips) that cannot run as configured."""
    chips = config.get("chips") or {}
    if config["demo"]["chip_archive"] and (config["provider"] != "demo" or not chips.get("enabled")):
        raise ConfigError(
            "config key demo.chip_archive: the demo chip archive stands in for the chip route's catalogue and S3 "
            f"with provider demo and chips.enabled, got provider {config['provider']!r} and chips.enabled "
            f"{bool(chips.get('enabled'))}"
        )
    if not chips.get("enabled"):
        return
    if "tziolas2020" not in config["methods"]:
        raise ConfigError(
            f"config key chips.enabled: the chip route builds the sample dataset of method tziolas2020, "
            f"which methods {list(config['methods'])} does not run"
        )
    radar = chips["sentinel1"]
    if (radar["collection"] is None) == (radar["items_file"] is None):
        raise ConfigError(
            "config keys chips.sentinel1.collection and chips.sentinel1.items_file: set exactly one "
            f"(a STAC collection to search, or a product list), got {radar['collection']!r} and {radar['items_file']!r}"
        )
    if config["sentinel1"]["engine"] != "builtin":
        raise ConfigError(
            f"config key sentinel1.engine: the chip route runs the chain on each chip with the builtin engine, "
            f"not {config['sentinel1']['engine']!r}"
        )


def period(config: Mapping) -> tuple[dt.date, dt.date]:
    """The study period as dates."""
    try:
        return (
            dt.date.fromisoformat(str(config["period"]["start"])),
            dt.date.fromisoformat(str(config["period"]["end"])),
        )
    except ValueError as err:
        raise ConfigError(f"config key period: {err}") from None


def study_grids(config: Mapping) -> dict[str, "StudyGrid"]:
    """The study grid of every region, by region name."""
    from soilsat.grid import region_grid

    return {
        r["name"]: region_grid(
            r["name"], r["lon"], r["lat"], r["size_m"], config["grid"]["margin_m"], config["grid"]["resolution"]
        )
        for r in config["regions"]
    }
