"""Small remote files read whole: a product's metadata (Sentinel-1 annotation, calibration and noise XMLs) over
HTTP(S), or from an S3 archive signed with the user's keys (soilsat.s3_signature); GDAL reads the rasters by ranges.

Answers 429 and 5xx are retried as GDAL retries its own reads (remote_files.COMMON_OPTIONS); every
body received is counted per file. A failure is a ProductError naming the file's href and the HTTP
status (with the S3 error code, and the keys to check when the archive refused them).
"""

from __future__ import annotations

import dataclasses
import re
import time
import urllib.parse
from collections.abc import Mapping

import requests

from soilsat.errors import ConfigError, ProductError
from soilsat.remote_faults import key_hint
from soilsat.remote_files import COMMON_OPTIONS, S3Archive
from soilsat.s3_signature import signed_headers

RETRIED = frozenset({429, 500, 502, 503, 504})
_S3_CODE = re.compile(rb"<Code>([^<]+)</Code>")


def object_url(href: str, s3: S3Archive | None) -> str:
    """The URL a GET of an href goes to: itself for http(s), the archive's endpoint for s3://bucket/key."""
    if href.startswith(("http://", "https://")):
        return href
    if not href.startswith("s3://"):
        raise ValueError(f"{href}: not an http(s) or s3 href")
    if s3 is None:
        raise ConfigError(f"{href}: s3:// files need an S3 archive (endpoint) to read them from")
    bucket, _, key = href[len("s3://") :].partition("/")
    scheme = "https" if s3.https else "http"
    path = urllib.parse.quote(key, safe="/-_.~")
    if s3.virtual_hosting:
        return f"{scheme}://{bucket}.{s3.endpoint}/{path}"
    return f"{scheme}://{s3.endpoint}/{bucket}/{path}"


@dataclasses.dataclass
class Fetcher:
    """Whole-file reads from one archive (the S3 keys from `environ`), with the bytes received per href."""

    s3: S3Archive | None = None
    environ: Mapping[str, str] | None = None
    received: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        """Bytes of every body received."""
        return sum(self.received.values())

    def _headers(self, method: str, href: str, url: str) -> dict[str, str]:
        """The request's signature headers for an s3:// href (none for http)."""
        if not href.startswith("s3://") or self.s3 is None:
            return {}
        options = self.s3.options(self.environ)
        return signed_headers(
            method, url, options["AWS_REGION"], options["AWS_ACCESS_KEY_ID"], options["AWS_SECRET_ACCESS_KEY"]
        )

    def _request(self, method: str, href: str) -> requests.Response:
        """The archive's answer to a GET or HEAD, 429/5xx retried; ProductError when it cannot be reached."""
        url = object_url(href, self.s3)
        retries = int(COMMON_OPTIONS["GDAL_HTTP_MAX_RETRY"])
        delay = float(COMMON_OPTIONS["GDAL_HTTP_RETRY_DELAY"])
        timeout = float(COMMON_OPTIONS["GDAL_HTTP_TIMEOUT"])
        for attempt in range(retries + 1):
            try:
                answer = requests.request(method, url, headers=self._headers(method, href, url), timeout=timeout)
            except requests.RequestException as exc:
                raise ProductError(href, f"the archive cannot be reached ({type(exc).__name__}: {exc})") from None
            if answer.status_code not in RETRIED or attempt == retries:
                return answer
            time.sleep(delay * 2**attempt)
        raise AssertionError("unreachable")  # the loop returns on its last attempt

    def _refused(self, href: str, answer: requests.Response) -> ProductError:
        """The error of an answer that is not the file: its status, S3's error code, the keys to check."""
        found = _S3_CODE.search(answer.content or b"")
        code = f" {found.group(1).decode(errors='replace')}" if found else ""
        problem = f"the archive answered HTTP {answer.status_code}{code}"
        if answer.status_code in RETRIED:
            problem += f" (after {COMMON_OPTIONS['GDAL_HTTP_MAX_RETRY']} retries)"
        return ProductError(href, problem + key_hint(problem))

    def fetch(self, href: str) -> bytes | None:
        """The whole file at an href (http(s) or s3://), counted; None when the archive does not hold it."""
        answer = self._request("GET", href)
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise self._refused(href, answer)
        self.received[href] = self.received.get(href, 0) + len(answer.content)
        return answer.content

    def get(self, href: str) -> bytes:
        """The whole file at an href; ProductError when the archive does not hold it."""
        data = self.fetch(href)
        if data is None:
            raise ProductError(href, "missing from the archive (HTTP 404)")
        return data

    def exists(self, href: str) -> bool:
        """Whether the archive holds the file (a HEAD: no body crosses the wire)."""
        answer = self._request("HEAD", href)
        if answer.status_code == 404:
            return False
        if answer.status_code != 200:
            raise self._refused(href, answer)
        return True
