"""Which ISMN format a data file is in, and a clear refusal of the old formats the ismn package cannot read.

ISMN has delivered four kinds of data files. The ismn package reads two: "Header+values"
(a header line, then date, time, value, ISMN flag and provider flag) and "CEOP formatted"
separate files (15 columns: two date-time pairs, network, station, position, depths, value
and the two flags). Downloads made before the provider flag was added (about 2013) have
four columns after the header, or 14 CEOP columns; and the first CEOP format kept all
variables of a station in one file. These fail deep inside the ismn package; here each is
named, and the user is told which format to download instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath

from soilsat.errors import ProductError

HEADER_VALUES = "header_values"
CEOP_SEPARATE = "ceop_separate"
HEADER_VALUES_EARLY = "header_values_early"
CEOP_SEPARATE_EARLY = "ceop_separate_early"
CEOP_ONE_FILE = "ceop_one_file"
UNKNOWN = "unknown"

DOWNLOAD_AS = (
    "download the data again from the ISMN data portal (ismn.earth) as "
    "'Variables stored in separate files (Header+values)'"
)
OLD_FORMATS = {
    HEADER_VALUES_EARLY: "the early Header+values format (data lines of date, time, value and ISMN flag, "
    "without the provider flag)",
    CEOP_SEPARATE_EARLY: "the early CEOP format of separate files (14 columns, without the provider flag)",
    CEOP_ONE_FILE: "the first CEOP format (all variables of a station in one file)",
}
HEAD_BYTES = 8192
_DATE = re.compile(r"^\d{4}/\d{2}/\d{2}$")
_CLOCK = re.compile(r"^\d{2}:\d{2}$")
# CSE_network_station_variable_depthfrom_depthto_sensor_start_end.stm: at least 9 fields
_SEPARATE_NAME_FIELDS = 9


def _stamped(fields: Sequence[str], at: int = 0) -> bool:
    """Whether fields[at:at + 2] are an ISMN date and time."""
    return len(fields) >= at + 2 and bool(_DATE.match(fields[at]) and _CLOCK.match(fields[at + 1]))


def _widths(lines: Sequence[str]) -> set[int]:
    """The numbers of whitespace-separated fields of the non-empty lines."""
    return {len(line.split()) for line in lines if line.strip()}


def data_format(file_name: str, head: str, whole: Callable[[], str]) -> str:
    """The format of a data file from its name and first lines; `whole` gives the full text where they cannot tell."""
    lines = [line for line in head.splitlines() if line.strip()]
    if not lines:
        return UNKNOWN
    first = lines[0].split()
    if not _stamped(first):
        if 5 in _widths(lines[1:]):
            return HEADER_VALUES
        # a current file may lack the provider flag on some lines, so only the whole file tells
        return HEADER_VALUES if 5 in _widths(whole().splitlines()[1:]) else HEADER_VALUES_EARLY
    if not _stamped(first, 2):
        return UNKNOWN
    if len(PurePosixPath(file_name).name.split("_")) < _SEPARATE_NAME_FIELDS:
        return CEOP_ONE_FILE
    if len(first) == 15:
        return CEOP_SEPARATE
    if len(first) == 14:
        return CEOP_SEPARATE if 15 in _widths(whole().splitlines()) else CEOP_SEPARATE_EARLY
    return UNKNOWN


def check_format(where: str, file_name: str, head: str, whole: Callable[[], str]) -> str:
    """The format of a data file, or ProductError naming the file when it is an old one the ismn package cannot read."""
    found = data_format(file_name, head, whole)
    if found in OLD_FORMATS:
        raise ProductError(
            where, f"ISMN data file in {OLD_FORMATS[found]}, an old format the ismn package cannot read; {DOWNLOAD_AS}"
        )
    return found
