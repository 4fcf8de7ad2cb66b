"""What goes wrong reading remote archives by ranges, said plainly: a server that answers a range request with the
whole file, error statuses that outlast GDAL's retries, and S3 keys the archive refuses."""

from __future__ import annotations

from soilsat.errors import ProductError
from soilsat.remote_files import ENV_S3_ACCESS_KEY, ENV_S3_SECRET_KEY
from soilsat.transfers import Transfers

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
    "HTTP 403",
)


GDAL_NO_RANGES = "Range downloading not supported"  # GDAL's words when a range request got the whole file


class WholeFileAnswer(ProductError):
    """A server answered a byte-range request with the whole file (HTTP 200 instead of 206 Partial Content)."""


def key_hint(problem: str) -> str:
    """The advice to add to a problem that says the archive refused the S3 keys (empty otherwise)."""
    if not any(r.lower() in problem.lower() for r in KEY_REFUSALS):
        return ""
    return (
        f"; the archive refused the S3 keys: check that {ENV_S3_ACCESS_KEY} and {ENV_S3_SECRET_KEY} "
        "hold a pair that is valid and has not expired"
    )


def archive_problem(problem: str, transfers: Transfers) -> str:
    """A read's problem with the archive's last error status (when GDAL's message lacks it) and the keys hint."""
    if transfers.http_errors and str(transfers.http_errors[-1]) not in problem:
        problem += f"; the archive answered HTTP {transfers.http_errors[-1]} (after GDAL's retries)"
    return problem + key_hint(problem)


def _no_ranges(path: str) -> WholeFileAnswer:
    """The error of a file whose server answers range requests with the whole file."""
    return WholeFileAnswer(
        path,
        "answered a byte-range request with the whole file (HTTP 200, not 206): the server does not serve ranges, "
        "so chips cannot be read from it; download the product instead",
    )


def read_failure(path: str, problem: str, transfers: Transfers) -> ProductError:
    """The error of a failed remote read of a file: WholeFileAnswer when GDAL found the server serves no ranges,
    else the problem with the archive's last error status and the keys hint."""
    if GDAL_NO_RANGES in problem:
        return _no_ranges(path)
    return ProductError(path, archive_problem(problem, transfers))


def check_ranges(name: str, transfers: Transfers) -> None:
    """WholeFileAnswer naming `name` when a range request was answered with the whole file."""
    whole = [r for r in transfers.reads if r.status == 200]
    if whole:
        raise WholeFileAnswer(
            name,
            f"{whole[0].url} answered a byte-range request with the whole file (HTTP 200, not 206): the server "
            "does not serve ranges, so chips cannot be read from it; download the product instead",
        )
