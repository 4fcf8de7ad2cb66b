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
from soilsat.remote_files import ENV_S3_ACCESS_KEY, ENV_S3_SECRET_KEY, S3Archive, remote_env
from soilsat.transfers import Transfers, counting

log = logging.getLogger(__name__)

# What S3 says when it refuses the keys (expired, deleted, mistyped or without rights), as codes or messages
KEY_REFUSALS = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "ExpiredToken",
    "Access Key Id you provided does not exist",
    "signature we calculated does not match",
    "Access Denied",
    "token has expired",
    "HTTP response code: 403",
)


class WholeFileAnswer(ProductError):
    """A server answered a byte-range request with the whole file (HTTP 200 instead of 206 Partial Content)."""


def _named(error: ProductError, item: Mapping, keys: Mapping[str, str], transfers: Transfers) -> ProductError:
    """The error of a read, naming the item and asset instead of the GDAL path, with the archive's last error status
    and a hint for refused keys."""
    path = error.path
    key = next((k for p, k in keys.items() if path in (p, p.removeprefix("/vsicurl/"))), None)
    where = f"{item_name(item)}, asset {key}" if key else f"{item_name(item)} ({path})"
    problem = error.problem
    if transfers.http_errors and str(transfers.http_errors[-1]) not in problem:
        problem += f"; the archive answered HTTP {transfers.http_errors[-1]} (after GDAL's retries)"
    if any(r.lower() in problem.lower() for r in KEY_REFUSALS):
        problem += (
            f"; the archive refused the S3 keys: check that {ENV_S3_ACCESS_KEY} and {ENV_S3_SECRET_KEY} "
            "hold a pair that is valid and has not expired"
        )
    return ProductError(where, problem)


def _check_ranges(item: Mapping, transfers: Transfers) -> None:
    """WholeFileAnswer when a range request was answered with the whole file (its bytes all crossed the wire)."""
    whole = [r for r in transfers.reads if r.status == 200]
    if whole:
        raise WholeFileAnswer(
            item_name(item),
            f"{whole[0].url} answered a byte-range request with the whole file (HTTP 200, not 206): the server "
            "does not serve ranges, so chips cannot be read from it; download the product instead",
        )


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
    _check_ranges(item, transfers)
    for url, nbytes in sorted(transfers.by_url().items()):
        log.debug("%s on chip %s: %d bytes from %s", item_name(item), chip.region, nbytes, url)
    log.info(
        "%s on chip %s: %d bytes in %d ranges", item_name(item), chip.region, transfers.nbytes, len(transfers.reads)
    )
    dataset.attrs.update(stac_item=str(item.get("id", "")), bytes_read=transfers.nbytes)
    dataset.attrs["remote_reads"] = len(transfers.reads)
    return dataset
