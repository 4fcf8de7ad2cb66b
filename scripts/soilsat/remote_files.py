"""Remote files as GDAL reads them in place: an asset's href as a /vsicurl/ or /vsis3/ path, and the GDAL options
that reach the archive (S3 endpoint and the user's keys, taken from the environment and never logged).

HTTP(S) hrefs are read with /vsicurl/; s3:// hrefs with /vsis3/ at the archive's endpoint (CDSE:
eodata.dataspace.copernicus.eu, path-style), signed with the keys in CDSE_S3_ACCESS_KEY and
CDSE_S3_SECRET_KEY. GDAL is told not to list folders (one request less per file) and to retry
429/5xx answers a few times.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping

import rasterio
from rasterio.session import Session

from soilsat.errors import ConfigError

ENV_S3_ACCESS_KEY = "CDSE_S3_ACCESS_KEY"
ENV_S3_SECRET_KEY = "CDSE_S3_SECRET_KEY"

# GDAL options of every remote read: no directory listing, retries of 429/5xx answers
COMMON_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "GDAL_HTTP_TIMEOUT": "60",
}


@dataclasses.dataclass(frozen=True)
class S3Archive:
    """Where an S3 archive answers: host[:port], https or not, path-style or virtual-hosted buckets, region."""

    endpoint: str
    https: bool = True
    virtual_hosting: bool = False
    region: str = "default"

    def options(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """GDAL's /vsis3/ options for this archive, keys from the environment; ConfigError naming what is missing."""
        env = os.environ if environ is None else environ
        missing = [k for k in (ENV_S3_ACCESS_KEY, ENV_S3_SECRET_KEY) if not env.get(k)]
        if missing:
            raise ConfigError(
                f"reading s3:// assets from {self.endpoint} needs S3 keys: set {' and '.join(missing)} "
                "(CDSE: create them at https://eodata-s3keysmanager.dataspace.copernicus.eu)"
            )
        return {
            "AWS_S3_ENDPOINT": self.endpoint,
            "AWS_HTTPS": "YES" if self.https else "NO",
            "AWS_VIRTUAL_HOSTING": "TRUE" if self.virtual_hosting else "FALSE",
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": env[ENV_S3_ACCESS_KEY],
            "AWS_SECRET_ACCESS_KEY": env[ENV_S3_SECRET_KEY],
        }


class S3Keys(Session):
    """A rasterio session that hands GDAL an S3 archive's options and keys (rasterio's AWSSession needs boto3)."""

    def __init__(self, options: Mapping[str, str]):
        self._options = dict(options)

    @classmethod
    def hascreds(cls, config: Mapping[str, str]) -> bool:
        """Whether GDAL's options already hold S3 keys."""
        return "AWS_ACCESS_KEY_ID" in config and "AWS_SECRET_ACCESS_KEY" in config

    @property
    def credentials(self) -> dict[str, str]:
        """The keys (never logged: repr shows the endpoint only)."""
        return {k: v for k, v in self._options.items() if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}

    def get_credential_options(self) -> dict[str, str]:
        """Every GDAL option of the archive, keys included."""
        return dict(self._options)

    def __repr__(self) -> str:
        return f"S3Keys(endpoint={self._options.get('AWS_S3_ENDPOINT')!r})"


def is_remote(path: str) -> bool:
    """Whether a GDAL path is read over the network."""
    return path.startswith(("/vsicurl/", "/vsis3/"))


def gdal_path(href: str) -> str:
    """The GDAL path of an asset href: /vsicurl/ for http(s), /vsis3/ for s3://, local paths as they are."""
    if href.startswith(("http://", "https://")):
        return f"/vsicurl/{href}"
    if href.startswith("s3://"):
        return f"/vsis3/{href[len('s3://') :]}"
    if href.startswith("file://"):
        return href[len("file://") :]
    if "://" in href:
        raise ValueError(f"{href}: unsupported scheme (http, https, s3 or a local path)")
    return href


def remote_env(paths: Iterable[str], s3: S3Archive | None, environ: Mapping[str, str] | None = None) -> rasterio.Env:
    """A rasterio environment for reading these GDAL paths: the common options, and the S3 archive's (with the
    user's keys) when any is a /vsis3/ path."""
    if any(p.startswith("/vsis3/") for p in paths):
        if s3 is None:
            raise ConfigError("s3:// assets need an S3 archive (endpoint) to read them from")
        return rasterio.Env(session=S3Keys(s3.options(environ)), **COMMON_OPTIONS)
    return rasterio.Env(**COMMON_OPTIONS)
