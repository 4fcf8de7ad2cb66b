"""AWS Signature Version 4 for a plain S3 GET or HEAD (no body, no query), as S3-compatible archives check it.

soilsat reads the small files of a product (Sentinel-1 annotation, calibration and noise XMLs) whole
with `requests`; GDAL signs its own reads of the rasters. The steps follow AWS's published algorithm:
a canonical request, the string to sign over its hash, and a key derived from the secret by date,
region and service.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import urllib.parse

EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()
ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, message: str) -> bytes:
    """HMAC-SHA256 of a message under a key."""
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    """The key of one day, region and service, derived from the secret."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def signed_headers(
    method: str, url: str, region: str, access_key: str, secret_key: str, now: dt.datetime | None = None
) -> dict[str, str]:
    """The headers that sign a GET or HEAD of `url` (path already percent-encoded, no query) for S3."""
    when = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    split = urllib.parse.urlsplit(url)
    if split.query:
        raise ValueError(f"{url}: signing a URL with a query string is not supported")
    headers = {"host": split.netloc, "x-amz-content-sha256": EMPTY_PAYLOAD_SHA256, "x-amz-date": when}
    names = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            method,
            split.path or "/",
            "",
            "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
            names,
            EMPTY_PAYLOAD_SHA256,
        ]
    )
    scope = f"{when[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join([ALGORITHM, when, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret_key, when[:8], region), to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-content-sha256": EMPTY_PAYLOAD_SHA256,
        "x-amz-date": when,
        "Authorization": f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={names}, Signature={signature}",
    }
