"""What crosses the wire: every byte range GDAL's network file systems (/vsicurl/, /vsis3/) fetch, with its size.

rasterio's wheels carry no GDAL Python bindings, so VSIGetNetworkStatistics is out of reach;
GDAL's debug messages are not. With CPL_DEBUG on, the network file systems report each range
they download ("VSICURL: Downloading 0-16383 (url)...", "S3: ..."), then the status that
answered it. `counting()` switches them on for a block, records each range as a RemoteRead
(its URL without the query string, which may carry a signature) and keeps GDAL's debug
chatter out of the logs unless they were at DEBUG already.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from collections.abc import Iterator

import rasterio

log = logging.getLogger(__name__)

# rasterio passes GDAL's messages to these loggers (debug messages of the file systems to either)
GDAL_LOGGERS = ("rasterio._env", "rasterio._err")
_DOWNLOADING = re.compile(r"\b([A-Z0-9_]+): Downloading (\d+)-(\d+) \((.+?)\)")
_STATUS = re.compile(r"\b([A-Z0-9_]+): Got response_code=(\d+)")
# S3 learns a file's size from a GET of its first chunk (answered 206), not from a HEAD
_SIZE_BY_GET = re.compile(r"\b([A-Z0-9_]+): GetFileSize\((.+?)\)=(\d+)\s+response_code=206")
# GDAL's words for an error answer: "HTTP error code: 503 - url", "HTTP response code on url: 403"
_HTTP_ERROR = re.compile(r"HTTP (?:error|response) code(?: on \S+?)?: (\d{3})")
CHUNK_BYTES = 16384  # GDAL's CPL_VSIL_CURL_CHUNK_SIZE, the first chunk such a GET fetches


@dataclasses.dataclass
class RemoteRead:
    """One byte range fetched from a remote file, and the HTTP status that answered it (0: none yet)."""

    url: str
    start: int
    end: int
    status: int = 0

    @property
    def nbytes(self) -> int:
        """Bytes in the range (both ends included)."""
        return self.end - self.start + 1


@dataclasses.dataclass
class Transfers:
    """The ranges fetched while counting was on."""

    reads: list[RemoteRead] = dataclasses.field(default_factory=list)
    http_errors: list[int] = dataclasses.field(default_factory=list)  # statuses of error answers, retried or not

    @property
    def nbytes(self) -> int:
        """Bytes of every range fetched."""
        return sum(r.nbytes for r in self.reads)

    def by_url(self) -> dict[str, int]:
        """Bytes fetched from each file."""
        out: dict[str, int] = {}
        for r in self.reads:
            out[r.url] = out.get(r.url, 0) + r.nbytes
        return out


def _redact(url: str) -> str:
    """A URL without its query string (a signed URL carries its signature there)."""
    return url.split("?", 1)[0]


class _Recorder(logging.Filter):
    """A logger filter that records the ranges GDAL reports and drops the debug messages counting switched on."""

    def __init__(self, transfers: Transfers, swallow: bool):
        super().__init__()
        self.transfers, self.swallow = transfers, swallow

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if (m := _HTTP_ERROR.search(message)) is not None:
            self.transfers.http_errors.append(int(m.group(1)))
        if (m := _DOWNLOADING.search(message)) is not None:
            read = RemoteRead(_redact(m.group(4)), int(m.group(2)), int(m.group(3)))
            self.transfers.reads.append(read)
            log.debug("%s: range %d-%d (%d bytes)", read.url, read.start, read.end, read.nbytes)
        elif (m := _SIZE_BY_GET.search(message)) is not None:
            end = min(CHUNK_BYTES, int(m.group(3))) - 1
            self.transfers.reads.append(RemoteRead(_redact(m.group(2)), 0, end, 206))
        elif (m := _STATUS.search(message)) is not None and self.transfers.reads:
            last = self.transfers.reads[-1]
            if last.status == 0:
                last.status = int(m.group(2))
        return not (self.swallow and record.levelno < logging.INFO)


@contextlib.contextmanager
def counting() -> Iterator[Transfers]:
    """Record every range GDAL's network file systems fetch in the block (CPL_DEBUG on for its duration)."""
    transfers = Transfers()
    loggers = [logging.getLogger(name) for name in GDAL_LOGGERS]
    levels = [lg.level for lg in loggers]
    swallow = not any(lg.isEnabledFor(logging.DEBUG) for lg in loggers)
    recorder = _Recorder(transfers, swallow)
    for lg in loggers:
        lg.addFilter(recorder)
        lg.setLevel(logging.DEBUG)
    try:
        with rasterio.Env(CPL_DEBUG="ON"):
            yield transfers
    finally:
        for lg, level in zip(loggers, levels):
            lg.removeFilter(recorder)
            lg.setLevel(level)
