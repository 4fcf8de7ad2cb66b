"""HTTP transfers of the real providers: JSON queries and resumable, verified file downloads.

Written on `requests` rather than taken from a download library because every provider
needs the same guarantees and we test them one by one against a loopback server: a `.part`
file resumed with a Range request (downloaded whole again when the server refuses the Range),
retries with exponential backoff and jitter on 429 (honouring Retry-After), 5xx and dropped
connections, a fresh token on 401, the reason a JSON error answer gives in the error, and a
checksum check before anything is moved into place. A 429 without Retry-After is a quota
(CDSE: "Max session number 4 exceeded") where the policy says so: it is waited out with
fixed, long waits that do not use up the ordinary tries, as CDSETool waits a minute.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hashlib
import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import requests

from soilsat.errors import ProductError
from soilsat.settings import Settings

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
CHUNK = 1 << 20
REASON_KEYS = ("reason", "error_description", "detail", "message", "error")  # Open-Meteo, OAuth, CDSE, others
REASON_CHARS = 300


@dataclasses.dataclass(frozen=True)
class RetryPolicy(Settings):
    """How often and how patiently a request is retried (a `retries:` section of the config)."""

    max_tries: int
    base_delay_s: float
    max_delay_s: float
    timeout_s: float
    quota_wait_s: float | None  # wait between tries after a 429 without Retry-After (None: backoff)
    quota_tries: int  # such 429s tolerated, on top of max_tries

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try `attempt + 1`: Retry-After if given, else capped exponential with full jitter."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_s)
        return random.uniform(0.0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


class TransferError(Exception):
    """A request that failed for good (after its retries, or with a status not worth retrying)."""

    def __init__(self, message: str, status: int | None = None, reason: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date, RFC 9110 10.2.3); None if none or bad."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        log.warning("unreadable Retry-After header %r ignored", value[:80])
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _redact(url: str) -> str:
    """A URL without its query string (queries may carry tokens)."""
    return url.split("?", 1)[0]


def error_reason(resp: requests.Response) -> str:
    """The reason an error answer gives: a JSON body's reason/error_description/detail/message, or a short text body."""
    kind = resp.headers.get("Content-Type", "")
    try:
        if "json" in kind:
            body = resp.json()
            values = [body.get(k) for k in REASON_KEYS] if isinstance(body, dict) else []
            text = next((v for v in values if isinstance(v, str) and v.strip()), "")
        elif kind.startswith("text/plain"):
            text = resp.text
        else:
            return ""
    except (ValueError, requests.RequestException):
        return ""
    text = " ".join(text.split())
    return text[:REASON_CHARS] + ("..." if len(text) > REASON_CHARS else "")


def _status_text(resp: requests.Response, reason: str) -> str:
    return f"HTTP {resp.status_code} {resp.reason}" + (f": {reason}" if reason else "")


def request(
    session: requests.Session,
    method: str,
    url: str,
    policy: RetryPolicy,
    auth: Callable[[bool], Mapping[str, str]] | None = None,
    **kwargs,
) -> requests.Response:
    """One HTTP request with retries; `auth(refresh)` gives headers, refresh=True after a 401."""
    refreshed = False
    last = "no attempt made"
    attempt = quota_waits = 0
    while attempt < policy.max_tries:
        headers = dict(kwargs.pop("headers", None) or {})
        if auth is not None:
            headers.update(auth(False))
        try:
            resp = session.request(method, url, headers=headers, timeout=policy.timeout_s, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            last = f"connection failed ({type(exc).__name__})"
            wait = policy.delay(attempt)
        else:
            if resp.status_code == 401 and auth is not None and not refreshed:
                resp.close()
                auth(True)
                refreshed = True
                kwargs["headers"] = headers
                continue
            if resp.status_code not in RETRY_STATUS:
                if resp.status_code >= 400:
                    reason = error_reason(resp)
                    resp.close()
                    raise TransferError(f"{_redact(url)}: {_status_text(resp, reason)}", resp.status_code, reason)
                return resp
            reason = error_reason(resp)
            last = f"HTTP {resp.status_code}" + (f": {reason}" if reason else "")
            retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
            resp.close()
            if resp.status_code == 429 and retry_after is None and policy.quota_wait_s is not None:
                quota_waits += 1
                if quota_waits > policy.quota_tries:
                    raise TransferError(
                        f"{_redact(url)}: {last} after {quota_waits} tries {policy.quota_wait_s:.0f} s "
                        "apart (a quota of the service; try again later)",
                        429,
                        reason,
                    )
                log.warning(
                    "%s: %s without Retry-After (a quota); retrying in %.0f s (wait %d of %d)",
                    _redact(url),
                    last,
                    policy.quota_wait_s,
                    quota_waits,
                    policy.quota_tries,
                )
                kwargs["headers"] = headers
                time.sleep(policy.quota_wait_s)
                continue
            wait = policy.delay(attempt, retry_after)
        kwargs["headers"] = headers
        attempt += 1
        if attempt < policy.max_tries:
            log.warning(
                "%s: %s; retrying in %.1f s (try %d of %d)", _redact(url), last, wait, attempt + 1, policy.max_tries
            )
            time.sleep(wait)
    raise TransferError(f"{_redact(url)}: {last} after {policy.max_tries} tries")


def get_json(
    session: requests.Session,
    url: str,
    policy: RetryPolicy,
    params: Mapping | None = None,
    auth: Callable[[bool], Mapping[str, str]] | None = None,
) -> dict:
    """GET a JSON document with retries."""
    resp = request(session, "GET", url, policy, auth=auth, params=params)
    try:
        return resp.json()
    except ValueError:
        raise TransferError(f"{_redact(url)}: the answer is not JSON ({resp.headers.get('Content-Type')})") from None


def file_digest(path: str | os.PathLike, algorithm: str = "md5") -> str:
    """Hex digest of a file."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def download(
    session: requests.Session,
    url: str,
    destination: str | os.PathLike,
    policy: RetryPolicy,
    md5: str | None = None,
    size: int | None = None,
    auth: Callable[[bool], Mapping[str, str]] | None = None,
    verify: Callable[[Path], None] | None = None,
) -> Path:
    """Stream `url` to `destination` through `destination.part`, resuming by Range; verified before the move.

    A dropped body resumes from the bytes already written (a 4xx answer to the Range request drops them
    and downloads the file whole, without Range from then on); a checksum or size mismatch
    deletes the `.part` file and raises ProductError; `verify(part)` may check contents.
    """
    final = Path(destination)
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    failures = 0
    ranges = True  # False once the server refused a Range request
    while True:
        if not ranges:
            part.unlink(missing_ok=True)
        have = part.stat().st_size if part.exists() else 0
        if size is not None and have >= int(size) > 0:
            break
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            resp = request(session, "GET", url, policy, auth=auth, headers=headers, stream=True)
        except TransferError as exc:
            if not have or exc.status is None or not 400 <= exc.status < 500 or exc.status == 401:
                raise
            log.warning(
                "%s: the server refused a Range request (%s); dropping the %d bytes of %s and downloading it whole",
                _redact(url),
                exc.args[0].split(": ", 1)[-1],
                have,
                part.name,
            )
            ranges = False
            continue
        with resp:
            if have and resp.status_code != 206:
                have = 0  # the server ignored the Range header: start again
            expected = resp.headers.get("Content-Length")
            # A short body is detected below from Content-Length; letting urllib3 raise instead
            # would drop the bytes of the last read, which a resume can keep.
            resp.raw.enforce_content_length = False
            try:
                with open(part, "ab" if have else "wb") as f:
                    f.writelines(resp.iter_content(CHUNK))
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout) as exc:
                failures += 1
                if failures >= policy.max_tries:
                    part.unlink(missing_ok=True)
                    raise TransferError(
                        f"{_redact(url)}: connection dropped {failures} times ({type(exc).__name__})"
                    ) from None
                wait = policy.delay(failures - 1)
                log.warning(
                    "%s: connection dropped after %d bytes; resuming in %.1f s", _redact(url), part.stat().st_size, wait
                )
                time.sleep(wait)
                continue
        got = part.stat().st_size - have
        if expected is not None and got < int(expected):
            failures += 1
            if failures >= policy.max_tries:
                part.unlink(missing_ok=True)
                raise TransferError(f"{_redact(url)}: connection dropped {failures} times (body cut short)")
            wait = policy.delay(failures - 1)
            log.warning(
                "%s: connection dropped after %d bytes; resuming in %.1f s", _redact(url), part.stat().st_size, wait
            )
            time.sleep(wait)
            continue
        break
    try:
        if size is not None and int(size) > 0 and part.stat().st_size != int(size):
            raise ProductError(
                final, f"size mismatch: catalogue says {int(size)} bytes, download has {part.stat().st_size}"
            )
        if md5:
            got_md5 = file_digest(part)
            if got_md5.lower() != md5.lower():
                raise ProductError(final, f"checksum mismatch: catalogue says MD5 {md5}, download has {got_md5}")
        if verify is not None:
            verify(part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, final)
    return final
