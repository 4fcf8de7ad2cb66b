"""The inputs of the Simonsen (2021) soil-moisture models, per variant, as Table A2 of the thesis lists them.

Dynamic: TS_max, sigma0 (linear, as the chain outputs it, section 3.2.2), NDVI, NDWI, precipitation,
consecutive dry days, TA min, mean and max. Static: elevation, slope, aspect x and y, land cover
(nominal, so one-hot: one 0/1 input per CORINE class present in the probe dataset), base saturation,
clay, silt, sand and organic carbon. The `minimum` variant is the dynamic inputs plus land cover, the
`agriculture` variant the dynamic inputs alone, on probes on CORINE 211 and 212 (section 3.3.1).
VH and the local incidence angle are options (`train.inputs`), off in the thesis configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import xarray as xr

from soilsat.errors import ConfigError
from soilsat.settings import Settings

WEATHER = ("precipitation", "dry_days", "tmin", "tmean", "tmax")
TERRAIN = ("elevation", "slope", "aspect_x", "aspect_y")
SOIL = ("base_saturation", "clay", "silt", "sand", "organic_carbon")
LANDCOVER = "landcover"  # stands for its one-hot columns landcover_<code>
VARIANTS = ("full", "minimum", "agriculture")
AGRICULTURE_LANDCOVER = (211, 212)  # CORINE non-irrigated arable land, permanently irrigated land


@dataclass(frozen=True)
class InputSettings(Settings):
    """Which radar inputs the models read (config train.inputs)."""

    polarisations: tuple[str, ...]
    sigma0_scale: str
    incidence_angle: bool


def sigma0_names(polarisations: Sequence[str], scale: str) -> tuple[str, ...]:
    """Probe-dataset names of the sigma0 inputs: sigma0_vv (linear) or sigma0_vv_db, per polarisation."""
    if scale not in ("linear", "db"):
        raise ConfigError(f"config key train.inputs.sigma0_scale: {scale!r} is neither 'linear' nor 'db'")
    suffix = "_db" if scale == "db" else ""
    return tuple(f"sigma0_{p.lower()}{suffix}" for p in polarisations)


def dynamic_inputs(inputs: InputSettings) -> tuple[str, ...]:
    """The dynamic inputs (Table A2, with the optional ones the config switches on)."""
    extra = ("incidence_angle",) if inputs.incidence_angle else ()
    return ("ts_max", *sigma0_names(inputs.polarisations, inputs.sigma0_scale), *extra, "ndvi", "ndwi", *WEATHER)


def variant_inputs(variant: str, inputs: InputSettings) -> tuple[str, ...]:
    """The inputs of a variant, land cover standing for its one-hot columns."""
    dynamic = dynamic_inputs(inputs)
    if variant == "full":
        return (*dynamic, *TERRAIN, LANDCOVER, *SOIL)
    if variant == "minimum":
        return (*dynamic, LANDCOVER)
    if variant == "agriculture":
        return dynamic
    raise ConfigError(f"unknown model variant {variant!r}; choose one of {list(VARIANTS)}")


def onehot_columns(dataset: xr.Dataset) -> tuple[str, ...]:
    """The one-hot land-cover variables of a probe dataset, in code order."""
    codes = sorted(
        int(str(name).rsplit("_", 1)[1])
        for name in dataset.data_vars
        if str(name).startswith(f"{LANDCOVER}_") and str(name).rsplit("_", 1)[1].isdigit()
    )
    return tuple(f"{LANDCOVER}_{code}" for code in codes)


def expand(names: Sequence[str], dataset: xr.Dataset) -> tuple[str, ...]:
    """Input names with land cover replaced by the dataset's one-hot columns; a missing input is a ConfigError."""
    out: list[str] = []
    for name in names:
        out.extend(onehot_columns(dataset) if name == LANDCOVER else [name])
    missing = [name for name in out if name not in dataset.variables]
    if missing:
        raise ConfigError(
            f"the probe dataset lacks the model inputs {missing}; check sentinel1.polarisations "
            "against train.inputs.polarisations"
        )
    return tuple(out)


def features(dataset: xr.Dataset, variant: str, inputs: InputSettings) -> tuple[str, ...]:
    """The probe-dataset variables a model of `variant` reads."""
    return expand(variant_inputs(variant, inputs), dataset)


def variant_probes(dataset: xr.Dataset, variant: str) -> xr.Dataset:
    """The probes a variant is trained and tested on: the agricultural ones for `agriculture`, else all."""
    if variant != "agriculture":
        return dataset
    keep = dataset["landcover"].isin(list(AGRICULTURE_LANDCOVER)).values
    return dataset.isel(probe=keep.nonzero()[0])
