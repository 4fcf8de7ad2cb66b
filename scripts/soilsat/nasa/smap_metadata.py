"""What a SMAP HDF5 file says about itself: short name, version, release, period and pass (AM or PM).

Every SMAP product carries ISO 19115 metadata as attributes of groups under /Metadata:
DatasetIdentification (shortName, ECSVersionID, CompositeReleaseID, fileName), Extent
(rangeBeginningDateTime, rangeEndingDateTime) and, for half-orbit products, OrbitMeasuredLocation
(orbitDirection). SMAP crosses the equator at 6 AM local time going south (descending) and 6 PM going
north (ascending), so a descending half-orbit is the AM pass and an ascending one the PM pass.
"""

from __future__ import annotations

import dataclasses
import os
import re

import h5py
import pandas as pd

from soilsat.errors import ProductError
from soilsat.nasa.h5file import text

PASS_OF_DIRECTION = {"Descending": "AM", "Ascending": "PM"}
DIRECTION_OF_LETTER = {"D": "Descending", "A": "Ascending"}
# Half-orbit products put the orbit number and direction in the name: SMAP_L1C_TB_E_47185_D_20231201T212059_...
HALF_ORBIT_NAME = re.compile(
    r"^SMAP_L[12][A-Z0-9_]*?_(?P<orbit>\d{5})_(?P<direction>[AD])_(?P<stamp>\d{8}T\d{6})_"
    r"(?P<crid>[RTD]\d{5})_(?P<counter>\d{3})"
)


@dataclasses.dataclass(frozen=True)
class SmapIdentity:
    """The identity of a SMAP granule."""

    short_name: str
    version: str
    crid: str
    start: pd.Timestamp
    end: pd.Timestamp
    orbit_direction: str | None

    @property
    def overpass(self) -> str | None:
        """'AM' for a descending half-orbit, 'PM' for an ascending one, None for daily or scene products."""
        return PASS_OF_DIRECTION.get(self.orbit_direction or "")


def _attrs(file: h5py.File, name: str) -> dict[str, str]:
    return {k: text(v) for k, v in file[name].attrs.items()} if name in file else {}


def _timestamp(value: str, path: str | os.PathLike, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise ProductError(path, f"/Metadata/Extent {what} {value!r} is not a date") from None
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def identity(file: h5py.File, path: str | os.PathLike) -> SmapIdentity:
    """The granule's identity from its /Metadata groups; ProductError when they are missing."""
    ident = _attrs(file, "Metadata/DatasetIdentification")
    if not ident.get("shortName"):
        raise ProductError(path, "no /Metadata/DatasetIdentification shortName: not a SMAP product")
    extent = _attrs(file, "Metadata/Extent")
    for key in ("rangeBeginningDateTime", "rangeEndingDateTime"):
        if key not in extent:
            raise ProductError(path, f"/Metadata/Extent has no {key}")
    orbit = _attrs(file, "Metadata/OrbitMeasuredLocation").get("orbitDirection")
    if orbit is None:
        match = HALF_ORBIT_NAME.match(os.path.basename(str(path)))
        orbit = DIRECTION_OF_LETTER[match.group("direction")] if match else None
    return SmapIdentity(
        short_name=ident["shortName"],
        version=ident.get("ECSVersionID", ""),
        crid=ident.get("CompositeReleaseID", ""),
        start=_timestamp(extent["rangeBeginningDateTime"], path, "rangeBeginningDateTime"),
        end=_timestamp(extent["rangeEndingDateTime"], path, "rangeEndingDateTime"),
        orbit_direction=orbit,
    )
