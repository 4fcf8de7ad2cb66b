"""What a MODIS HDF-EOS file says about itself: product, version, period, grids (tile, pixels) and fields."""

from __future__ import annotations

import os

from soilsat.nasa.hdfeos import core_value, fields_summary, grids, open_hdf4
from soilsat.nasa.modis_grid import grid_attrs


def describe(path: str | os.PathLike) -> dict:
    """Short name, version, period, each grid's tile, size and corners, and every field with its fill value."""
    sd = open_hdf4(path)
    try:
        grid_list = grids(sd, path)
        start, end = core_value(sd, "RANGEBEGINNINGDATE", path), core_value(sd, "RANGEENDINGDATE", path)
        summary = {
            "product": core_value(sd, "SHORTNAME", path),
            "version": core_value(sd, "VERSIONID", path),
            "date": start,
            "period": [start, end],
        }
        fields = fields_summary(sd)
    finally:
        sd.end()
    return summary | {
        "grid": {
            name: {
                "projection": "MODIS sinusoidal",
                "tile": grid_attrs(g)["tile"],
                "pixels": [g.ydim, g.xdim],
                "upper_left_m": list(g.upper_left),
                "lower_right_m": list(g.lower_right),
            }
            for name, g in grid_list.items()
        },
        "variables": fields,
    }
