"""The provider a configuration names: the one module that knows every implementation."""

from __future__ import annotations

from collections.abc import Mapping

from soilsat.acquire.demo_archive import DemoProvider
from soilsat.acquire.provider import Provider

PROVIDERS = ("demo", "cdse", "earthdata")


def get_provider(name: str, inputs: Mapping[str, str], settings: Mapping | None = None) -> Provider:
    """The provider named in the configuration, given the local inputs its rule declared.

    Real providers also take `settings`: the config's `regions`, `grid` and the sections
    of their sources (`cdse`, `orbits`, `ismn`, `weather`, `dem`, `landcover`, `soil`, `lucas`;
    `earthdata` for the Earthdata provider).
    """
    if name == "demo":
        return DemoProvider(inputs["archive"])
    if name not in PROVIDERS:
        raise ValueError(f"unknown provider {name!r}")
    if settings is None:
        raise ValueError(f"provider {name!r} needs the config settings of its sources")
    # the real providers load on first use: demo jobs need none of their libraries (requests, rasterio, cdsapi)
    if name == "cdse":
        from soilsat.acquire.copernicus import CopernicusProvider

        return CopernicusProvider(settings)
    from soilsat.acquire.earthdata import EarthdataProvider

    return EarthdataProvider(settings)
