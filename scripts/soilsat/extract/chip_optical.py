"""Sentinel-2 at the points of one batch, from their chips read by byte ranges: the reflectances and the bare-soil
and validity flags at each point's pixel, as the region route reads them from the region rasters (the same
l2a_on_grid, harmonisation and masks), and what each point-observation cost on the wire."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from soilsat.chips import ChipShape, centre_pixel
from soilsat.extract.chip_points import point_chips
from soilsat.extract.pairing import OPTICAL_COLUMNS, S2_BANDS
from soilsat.optical.chip_observations import item_bytes, read_observations
from soilsat.optical.process import OpticalSettings
from soilsat.remote_files import S3Archive

log = logging.getLogger(__name__)

COST_COLUMNS = ("source", "point", "item", "time", "bytes_read", "remote_reads", "item_bytes")


def _naive(when: str) -> pd.Timestamp:
    """A sensing time as the raster index keeps it (time zone dropped)."""
    stamp = pd.Timestamp(when)
    return stamp.tz_localize(None) if stamp.tzinfo else stamp


def optical_point_values(
    items: Sequence[Mapping],
    points: pd.DataFrame,
    shape: ChipShape,
    settings: OpticalSettings,
    s3: S3Archive | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, costs) of every point-observation: OPTICAL_COLUMNS plus the chip's valid_fraction, and COST_COLUMNS."""
    chips = point_chips(points, shape)
    lonlat = {str(p): (float(x), float(y)) for p, x, y in zip(points["point_id"], points["lon"], points["lat"])}
    observed = read_observations(items, chips, lonlat, settings, s3=s3, environ=environ)
    row, col = centre_pixel(shape)
    names = [*S2_BANDS, "bare", "valid"]
    records = []
    for point, by_item in observed.chips.items():
        for item_id, chip in by_item.items():
            values = [np.float32(chip[name].values[row, col]) for name in names]
            when = _naive(str(chip.attrs["sensing_time"]))
            records.append((point, when, item_id, *values, float(chip.attrs["valid_fraction"])))
    values = pd.DataFrame(records, columns=[*OPTICAL_COLUMNS, "valid_fraction"])
    for name in names:
        values[name] = values[name].astype(np.float32)
    sizes = {str(i["id"]): item_bytes(i) for i in items}
    costs = observed.costs.rename(columns={"datetime": "time"}).assign(source="sentinel2")
    costs["item_bytes"] = [sizes.get(i) for i in costs["item"]]
    log.info(
        "%d points: %d Sentinel-2 point-observations, %d bytes read",
        len(points),
        len(values),
        int(costs["bytes_read"].sum()),
    )
    return values, costs.reindex(columns=list(COST_COLUMNS))
