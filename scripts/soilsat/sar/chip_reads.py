"""A Sentinel-1 observation on a chip, read by byte ranges from a SAFE product in a remote archive.

The product's manifest, annotation, calibration and noise XMLs are fetched whole (soilsat.sar.remote_safe);
the engine's chain (soilsat.sar.engine: calibration, thermal noise, border noise, Lee sigma with its
halo, terrain correction) then runs on the chip as on a local product, and reads of each measurement
raster cover only the image window the chip needs (GDAL /vsicurl/ or /vsis3/ ranges). Every byte
that crosses the wire is counted: the XMLs' bodies and GDAL's ranges. A failure names the file's href
(the product and the file in it) and what is wrong.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import xarray as xr

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.remote_faults import check_ranges, read_failure
from soilsat.remote_fetch import Fetcher
from soilsat.remote_files import S3Archive, gdal_path, remote_env
from soilsat.sar.engine import ChainSpec
from soilsat.sar.reference.whole_grid import run_chain
from soilsat.sar.remote_safe import open_remote_product
from soilsat.sar.safe import S1Product
from soilsat.transfers import Transfers, counting

log = logging.getLogger(__name__)


def _chip(
    spec: ChainSpec,
    chip: StudyGrid,
    product: S1Product,
    fetcher: Fetcher,
    transfers: Transfers,
    orbit_files: Sequence[str | os.PathLike],
    attributed: int,
) -> xr.Dataset:
    """One chip of an open remote product, with what it cost: the ranges it read, and the metadata fetched beyond
    the `attributed` bytes earlier chips carry."""
    reads, metadata = len(transfers.reads), attributed
    dataset = run_chain(spec, chip, orbit_files, source=product)
    measurement = sum(r.nbytes for r in transfers.reads[reads:])
    dataset.attrs.update(
        bytes_read=fetcher.nbytes - metadata + measurement,
        bytes_metadata=fetcher.nbytes - metadata,
        bytes_measurement=measurement,
        remote_reads=len(transfers.reads) - reads,
    )
    log.info(
        "%s on chip %s: %d bytes (%d of metadata, %d in %d ranges of the measurements)",
        product.name,
        chip.region,
        dataset.attrs["bytes_read"],
        dataset.attrs["bytes_metadata"],
        measurement,
        dataset.attrs["remote_reads"],
    )
    return dataset


def s1_chips(
    href: str,
    chips: Sequence[tuple[ChainSpec, StudyGrid]],
    s3: S3Archive | None = None,
    environ: Mapping[str, str] | None = None,
    orbit_files: Sequence[str | os.PathLike] = (),
) -> list[xr.Dataset]:
    """The chain's bands of the remote SAFE product at `href` on each chip (with the chain settings of its graph,
    whose Read.file is not read); the XMLs are fetched once for all chips. Each chip's dataset carries what it
    cost: `bytes_read`, `bytes_metadata` (the XMLs, on the first chip), `bytes_measurement` and `remote_reads`."""
    fetcher = Fetcher(s3, environ)
    with remote_env([gdal_path(href)], s3, environ), counting() as transfers:
        try:
            with open_remote_product(href, fetcher) as product:
                datasets: list[xr.Dataset] = []
                for spec, chip in chips:
                    attributed = sum(d.attrs["bytes_metadata"] for d in datasets)
                    datasets.append(_chip(spec, chip, product, fetcher, transfers, orbit_files, attributed))
        except ProductError as e:
            raise read_failure(e.path, e.problem, transfers) from None
    check_ranges(href, transfers)
    for url, nbytes in sorted({**fetcher.received, **transfers.by_url()}.items()):
        log.debug("%s: %d bytes from %s", href, nbytes, url)
    for dataset in datasets:
        dataset.attrs["product_href"] = href
    return datasets


def s1_chip(
    spec: ChainSpec,
    href: str,
    chip: StudyGrid,
    s3: S3Archive | None = None,
    environ: Mapping[str, str] | None = None,
    orbit_files: Sequence[str | os.PathLike] = (),
) -> xr.Dataset:
    """The chain's bands of the remote SAFE product at `href` on one chip (see s1_chips)."""
    return s1_chips(href, [(spec, chip)], s3, environ, orbit_files)[0]
