"""L2A observations on chips, read by byte ranges straight from a STAC item's remote files, every chip of an item
in one operation.

The item becomes the SAFE reader's Product (soilsat.optical.stac_item) once, in one GDAL environment
(GDAL's /vsicurl/ or /vsis3/, soilsat.remote_files). Each band, SCL and probability mask file is
opened once, at its first read, and the window of it that covers each chip is read from the open
file, chip after chip (soilsat.optical.process.read_l2a_windows); then the SAFE route puts each
chip's windows on the chip as l2a_on_grid does (l2a_from_windows), after the reads, so its warps
run without the debug messages that counting the reads switches on.

Every range fetched is counted (soilsat.transfers) and belongs to the chip whose read fetched it:
a file's header, fetched when the file is opened for the first chip, counts for that chip only;
a block (or range) fetched for a chip counts for it, and a later chip that needs the same block
reads it from GDAL's cache at no cost. GDAL's /vsicurl/ reads ahead (doubling the range) when a
read on an open file continues where its last one ended, so a chip's range may hold blocks a
later chip uses: they count for the chip whose read fetched them. So the chips' bytes add up to
what the archive served for the item. Each dataset carries its `bytes_read` and `remote_reads`;
each range is logged at debug level, the sum per chip at info level. A failure names the item, the
asset and what is wrong, with the keys to check when the archive refused them, and none of the
item's chips is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import xarray as xr

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.optical.process import L2AWindows, OpticalSettings, l2a_from_windows, read_l2a_windows
from soilsat.optical.safe import OpenFiles, Product
from soilsat.optical.stac_item import item_name, item_product
from soilsat.remote_faults import WholeFileAnswer, archive_problem, check_ranges
from soilsat.remote_files import S3Archive, remote_env
from soilsat.transfers import Transfers, counting

log = logging.getLogger(__name__)

__all__ = ["WholeFileAnswer", "l2a_chip", "l2a_chips"]


def _named(error: ProductError, item: Mapping, keys: Mapping[str, str], transfers: Transfers) -> ProductError:
    """The error of a read, naming the item and asset instead of the GDAL path, with the archive's last error status
    and a hint for refused keys."""
    path = error.path
    key = next((k for p, k in keys.items() if path in (p, p.removeprefix("/vsicurl/"))), None)
    where = f"{item_name(item)}, asset {key}" if key else f"{item_name(item)} ({path})"
    return ProductError(where, archive_problem(error.problem, transfers))


def _with_cost(dataset: xr.Dataset, item: Mapping, chip: StudyGrid, cost: Transfers) -> xr.Dataset:
    """The chip's dataset with the item's id and what the chip's reads fetched, logged."""
    for url, nbytes in sorted(cost.by_url().items()):
        log.debug("%s on chip %s: %d bytes from %s", item_name(item), chip.region, nbytes, url)
    log.info("%s on chip %s: %d bytes in %d ranges", item_name(item), chip.region, cost.nbytes, len(cost.reads))
    dataset.attrs.update(stac_item=str(item.get("id", "")), bytes_read=cost.nbytes)
    dataset.attrs["remote_reads"] = len(cost.reads)
    return dataset


def _read_windows(
    item: Mapping, product: Product, keys: Mapping[str, str], chips: Mapping[str, StudyGrid], settings: OpticalSettings
) -> dict[str, tuple[L2AWindows, Transfers]]:
    """Each chip's windows of the item's files (each file opened once) and the ranges its reads fetched."""
    read: dict[str, tuple[L2AWindows, Transfers]] = {}
    with counting() as transfers, OpenFiles() as files:
        for name, chip in chips.items():
            first = len(transfers.reads)
            try:
                windows = read_l2a_windows(product, chip, settings, windowed=True, files=files)
            except ProductError as e:
                raise _named(e, item, keys, transfers) from None
            cost = Transfers(reads=transfers.reads[first:])
            check_ranges(item_name(item), cost)
            read[name] = (windows, cost)
    return read


def l2a_chips(
    item: Mapping,
    chips: Mapping[str, StudyGrid],
    settings: OpticalSettings,
    s3: S3Archive | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, xr.Dataset]:
    """The L2A observation of a STAC item on each chip (by the chips' keys), as l2a_on_grid gives it, with
    `bytes_read` and `remote_reads`: the item's files opened once, each chip's windows read from them, then put on
    the chips."""
    product, keys = item_product(item)
    with remote_env(keys, s3, environ):
        read = _read_windows(item, product, keys, chips, settings)
        return {
            name: _with_cost(l2a_from_windows(product, chips[name], settings, windows), item, chips[name], cost)
            for name, (windows, cost) in read.items()
        }


def l2a_chip(
    item: Mapping,
    chip: StudyGrid,
    settings: OpticalSettings,
    s3: S3Archive | None = None,
    environ: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """The L2A observation of a STAC item on one chip (see l2a_chips)."""
    return l2a_chips(item, {chip.region: chip}, settings, s3, environ)[chip.region]
