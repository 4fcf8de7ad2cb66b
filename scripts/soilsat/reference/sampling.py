"""Reference-product values at points: the grid cell that contains each point, day by day.

As Simonsen (2021, 3.3.5) reads the products: "each grid, or pixel, encompassing the position of the
respective SM probe was read and stored with the date of measurement". Dense probe networks therefore
share cell values, which the table keeps (one row per probe and day).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import cast

import numpy as np
import pandas as pd

from soilsat.errors import ProductError
from soilsat.reference import cgls_ssm, esacci_sm, latlon
from soilsat.reference.conversion import saturation_to_volumetric
from soilsat.reference.kinds import product_kind

COLUMNS = ["probe", "time", "value", "native", "noise", "cell_lat", "cell_lon"]
# The product's value and its noise or uncertainty variable, and the unit of both.
FIELDS = {cgls_ssm.KIND: ("ssm", "ssm_noise", "% saturation"), esacci_sm.KIND: ("sm", "sm_uncertainty", "m3 m-3")}


def _check_points(points: pd.DataFrame, conversion: str | None) -> None:
    needed = {"probe", "lat", "lon"} | ({"sand", "clay"} if conversion == "porosity" else set())
    missing = sorted(needed - set(points.columns))
    if missing:
        raise ValueError(f"the points table lacks column(s) {', '.join(missing)}")


def sample_points(
    paths: Iterable[str | os.PathLike], points: pd.DataFrame, conversion: str | None = None, mask_flagged: bool = True
) -> pd.DataFrame:
    """A tidy table (probe, time, value in m3 m-3, native value and noise in the product's unit, cell centre)
    of the valid values of daily files of one product at points (columns probe, lat, lon).

    `conversion` turns CSM's % saturation into m3 m-3 ('fraction' or 'porosity', the latter needs columns
    sand and clay in %); ESA CCI SM is volumetric already and ignores it. `mask_flagged` drops ESA CCI SM
    values whose flag is not 0. Points outside a file's grid get no row from it.
    """
    paths = sorted(str(p) for p in paths)
    kinds = {path: product_kind(path) for path in paths}
    if len(set(kinds.values())) > 1:
        first = paths[0]
        odd = next(p for p in paths if kinds[p] != kinds[first])
        raise ProductError(odd, f"a {kinds[odd]} file, while {first} is {kinds[first]}: sample one product at a time")
    kind = kinds[paths[0]] if paths else None
    if kind == cgls_ssm.KIND and conversion is None:
        raise ValueError("CSM values are % of saturation: choose the conversion 'fraction' or 'porosity'")
    _check_points(points, conversion if kind == cgls_ssm.KIND else None)
    lat = points["lat"].to_numpy(dtype=float)
    lon = points["lon"].to_numpy(dtype=float)
    frames = []
    for path in paths:
        ds = esacci_sm.open_sm(path, mask_flagged) if kind == esacci_sm.KIND else cgls_ssm.open_ssm(path)
        value_name, noise_name, units = FIELDS[cast(str, kind)]  # paths is not empty here
        cell = float(ds.attrs["cell_size_deg"])
        rows = latlon.cell_index(ds["lat"].values, lat, cell, descending=True)
        cols = latlon.cell_index(ds["lon"].values, lon, cell)
        inside = np.flatnonzero((rows >= 0) & (cols >= 0))
        native = ds[value_name].values[rows[inside], cols[inside]].astype(float)
        found = np.isfinite(native)
        picked = inside[found]
        if not picked.size:
            continue
        frame = pd.DataFrame(
            {
                "probe": points["probe"].to_numpy()[picked],
                "time": pd.Timestamp(ds["time"].values).normalize(),
                "native": native[found],
                "noise": ds[noise_name].values[rows[picked], cols[picked]].astype(float),
                "cell_lat": ds["lat"].values[rows[picked]],
                "cell_lon": ds["lon"].values[cols[picked]],
            }
        )
        if kind == cgls_ssm.KIND:
            sand = points["sand"].to_numpy(dtype=float)[picked] if conversion == "porosity" else None
            clay = points["clay"].to_numpy(dtype=float)[picked] if conversion == "porosity" else None
            frame["value"] = saturation_to_volumetric(frame["native"].to_numpy(), conversion, sand, clay)
        else:
            frame["value"] = frame["native"]
        frames.append(frame)
    if frames:
        table = pd.concat(frames, ignore_index=True)[COLUMNS]
        # Regions close together may crop the same cell into two files of one day: keep it once.
        table = table.drop_duplicates(["probe", "time"]).sort_values(["probe", "time"]).reset_index(drop=True)
    else:
        dtypes = {"probe": object, "time": "datetime64[ns]"}
        table = pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, float)) for c in COLUMNS})
    table.attrs = {
        "kind": kind,
        "value_units": "m3 m-3",
        "native_units": FIELDS[kind][2] if kind else "",
        "conversion": conversion if kind == cgls_ssm.KIND else "none (volumetric product)",
    }
    return table
