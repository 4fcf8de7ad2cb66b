"""A Sentinel-1 SAFE product in a remote archive, read in place: its manifest and XMLs fetched whole (they are
small), its measurement rasters opened by GDAL over /vsicurl/ or /vsis3/ so the engine reads only its window.

Both layouts archives serve are SAFE folders: the product as published (measurement TIFFs, read by
ranges where the server supports them) and CDSE's COG products (the same folder with the measurements
as Cloud Optimized GeoTIFFs, on S3). The container answers as soilsat.sar.safe.SafeContainer does, so
the SAFE reader and the engine take it unchanged.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from soilsat.errors import ProductError
from soilsat.remote_fetch import Fetcher
from soilsat.remote_files import gdal_path
from soilsat.sar.safe import S1Product, SafeContainer, member_path

SAFE_SUFFIXES = (".SAFE", ".safe")
METADATA_SUFFIXES = (".xml", ".safe")  # fetched whole; anything else (the measurements) GDAL reads by ranges


class RemoteSafe(SafeContainer):
    """Read access to the files of a SAFE folder at an http(s):// or s3:// href, by relative path."""

    def __init__(self, href: str, fetcher: Fetcher):
        self.href = href.rstrip("/")
        if not self.href.endswith(SAFE_SUFFIXES):
            raise ProductError(href, "not a SAFE folder href (a Sentinel-1 product's href ends in .SAFE)")
        self.fetcher = fetcher
        self.path = Path(PurePosixPath(self.href).name)  # for messages: the product's folder name
        self.root = ""
        self._zip = None
        self._files: dict[str, bytes] = {}

    @property
    def name(self) -> str:
        """The product name, without .SAFE (CDSE's COG products keep their _COG suffix)."""
        return PurePosixPath(self.href).stem

    def file_href(self, rel: str) -> str:
        """The href of a file of the product."""
        return f"{self.href}/{member_path(rel)}"

    def describe(self, rel: str) -> str:
        """How to name a file in messages: its href (the product and the file in it)."""
        return self.file_href(rel)

    def _fetch(self, rel: str) -> bytes | None:
        """A metadata file, fetched whole once and then kept (None when the archive does not hold it)."""
        if rel not in self._files:
            data = self.fetcher.fetch(self.file_href(rel))
            if data is None:
                return None
            self._files[rel] = data
        return self._files[rel]

    def exists(self, rel: str) -> bool:
        """Whether the archive holds the file: metadata by fetching it (it is read next), rasters by a HEAD request."""
        rel = member_path(rel)
        if rel.lower().endswith(METADATA_SUFFIXES):
            return self._fetch(rel) is not None
        return self.fetcher.exists(self.file_href(rel))

    def read(self, rel: str) -> bytes:
        """The whole file (a metadata file: the product's XMLs are read more than once, and fetched once)."""
        rel = member_path(rel)
        data = self._fetch(rel)
        if data is None:
            raise ProductError(self.describe(rel), "missing from the archive (HTTP 404)")
        return data

    def gdal_path(self, rel: str) -> str:
        """The file's /vsicurl/ or /vsis3/ path, for GDAL's reads by ranges."""
        return gdal_path(self.file_href(rel))

    def close(self) -> None:
        """Forget the fetched files."""
        self._files.clear()


def open_remote_product(href: str, fetcher: Fetcher) -> S1Product:
    """The Sentinel-1 product of a remote SAFE folder (its manifest fetched at once, each image's XMLs on demand)."""
    return S1Product(RemoteSafe(href, fetcher))
