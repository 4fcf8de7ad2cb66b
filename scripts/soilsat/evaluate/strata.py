"""What a station (or sample) belongs to - region, network, land cover, soil texture class, Koeppen climate - and
per-stratum summaries of the per-station metrics (median and count), the tables a reviewer asks for."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.acquire.ismn import SOIL_MOISTURE, sites_of
from soilsat.evaluate.texture import UNKNOWN, texture_classes

STRATA = ("region", "network", "landcover", "texture", "climate")
SUMMARISED = ("r", "rho", "bias", "rmsd", "ubrmsd")


def text(values: Sequence[object]) -> np.ndarray:
    """Labels as text, 'unknown' for missing ones; whole numbers without a decimal point (CORINE 211)."""

    def label(value: object) -> str:
        if value is None or (isinstance(value, float) and not np.isfinite(value)) or str(value) in ("", "nan", "None"):
            return UNKNOWN
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value)

    return np.array([label(v) for v in values], dtype=object).astype(str)


def station_strata(dataset: xr.Dataset, ismn_probes: pd.DataFrame | None) -> pd.DataFrame:
    """Per probe site of a probe or in-situ dataset: region, network, land cover, texture class and climate.

    Land cover and texture come from the dataset (CORINE, HWSD) where it carries them, else from the ISMN
    static variables (the provider's land cover, soil fractions); network and Koeppen-Geiger climate from ISMN.
    """
    probes = dataset["probe"].values.astype(str)
    table = pd.DataFrame({"probe": probes, "region": dataset["region"].values.astype(str)})
    ismn = pd.DataFrame(columns=["probe", "network", "climate", "landcover", "clay", "silt", "sand"])
    if ismn_probes is not None and not ismn_probes.empty:
        sensors = sites_of(ismn_probes[ismn_probes["variable"] == SOIL_MOISTURE])
        ismn = sensors.groupby("site", as_index=False).agg(
            network=("network", "first"),
            climate=("climate", "first"),
            landcover=("landcover", "first"),
            clay=("clay", "mean"),
            silt=("silt", "mean"),
            sand=("sand", "mean"),
        )
        ismn = ismn.rename(columns={"site": "probe"})
    table = table.merge(ismn, on="probe", how="left")
    if "landcover" in dataset:
        table["landcover"] = dataset["landcover"].values
    fractions = {}
    for name in ("clay", "silt", "sand"):
        fractions[name] = dataset[name].values.astype(float) if name in dataset else table[name].to_numpy(float)
    table["texture"] = texture_classes(fractions["sand"], fractions["silt"], fractions["clay"])
    for name in ("network", "landcover", "climate"):
        table[name] = text(table[name].tolist())
    return table[["probe", *STRATA]]


def sample_strata(dataset: xr.Dataset) -> pd.DataFrame:
    """Per sample of a sample or window dataset: region and texture class (the strata point samples have)."""
    table = pd.DataFrame(
        {"sample": dataset["sample"].values.astype(str), "region": dataset["region"].values.astype(str)}
    )
    have = all(name in dataset for name in ("clay", "silt", "sand"))
    table["texture"] = (
        texture_classes(dataset["sand"].values, dataset["silt"].values, dataset["clay"].values) if have else UNKNOWN
    )
    return table


def stratum_summary(
    metrics: pd.DataFrame, keys: Sequence[str], strata: Sequence[str], columns: Sequence[str] = SUMMARISED
) -> pd.DataFrame:
    """Median of each metric and number of stations per stratum, for every kind of stratum, stacked."""
    frames = []
    for stratum in strata:
        grouped = metrics.groupby([*keys, stratum], sort=True)
        summary = grouped[list(columns)].median().add_suffix("_median")
        summary["stations"] = grouped.size()
        summary = summary.reset_index().rename(columns={stratum: "stratum"})
        summary.insert(len(keys), "stratified_by", stratum)
        frames.append(summary)
    return pd.concat(frames, ignore_index=True)
