"""An L2A observation on a chip, read by byte ranges straight from a STAC item's remote files.

The item becomes the SAFE reader's Product (soilsat.optical.stac_item), and the SAFE route's
l2a_on_grid puts it on the chip, reading only the window of each band, SCL and probability mask
that covers the chip (GDAL's /vsicurl/ or /vsis3/, soilsat.remote_files). Every range fetched
is counted (soilsat.transfers): the dataset carries the bytes it cost, and each range is logged
at debug level, the sum per chip at info level. A failure names the item, the asset and what is
wrong, with the keys to check when the archive refused them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import xarray as xr

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.optical.process import OpticalSettings, l2a_on_grid
from soilsat.optical.stac_item import item_name, item_product
from soilsat.remote_faults import WholeFileAnswer, archive_problem, check_ranges
from soilsat.remote_files import S3Archive, remote_env
from soilsat.transfers import Transfers, counting

log = logging.getLogger(__name__)

__all__ = ["WholeFileAnswer", "l2a_chip"]


def _named(error: ProductError, item: Mapping, keys: Mapping[str, str], transfers: Transfers) -> ProductError:
    """The error of a read, naming the item and asset instead of the GDAL path, with the archive's last error status
    and a hint for refused keys."""
    path = error.path
    key = next((k for p, k in keys.items() if path in (p, p.removeprefix("/vsicurl/"))), None)
    where = f"{item_name(item)}, asset {key}" if key else f"{item_name(item)} ({path})"
    return ProductError(where, archive_problem(error.problem, transfers))


def l2a_chip(
    item: Mapping,
    chip: StudyGrid,
    settings: OpticalSettings,
    s3: S3Archive | None = None,
    environ: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """The L2A observation of a STAC item on a chip, as l2a_on_grid gives it, with `bytes_read` and `remote_reads`."""
    product, keys = item_product(item)
    with remote_env(keys, s3, environ), counting() as transfers:
        try:
            dataset = l2a_on_grid(product, chip, settings, windowed=True)
        except ProductError as e:
            raise _named(e, item, keys, transfers) from None
    check_ranges(item_name(item), transfers)
    for url, nbytes in sorted(transfers.by_url().items()):
        log.debug("%s on chip %s: %d bytes from %s", item_name(item), chip.region, nbytes, url)
    log.info(
        "%s on chip %s: %d bytes in %d ranges", item_name(item), chip.region, transfers.nbytes, len(transfers.reads)
    )
    dataset.attrs.update(stac_item=str(item.get("id", "")), bytes_read=transfers.nbytes)
    dataset.attrs["remote_reads"] = len(transfers.reads)
    return dataset
