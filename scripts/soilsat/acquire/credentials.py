"""Credentials (CDSE account and tokens, CDS API key): from the environment or dot files only, never config or logs.

CDSE counts each token as a session (four at once at most) and Keycloak refuses a one-time code
used twice, so the jobs of one account share one token: a cache file per account and identity
service under the user's cache folder (mode 600, beside a lock file), read and renewed under a
POSIX lock (fcntl.lockf, which NFS clients honour), refreshed with the refresh token, and a new
password login (with a TOTP code) never within the 30 s step of the previous one.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import hashlib
import hmac
import json
import logging
import netrc
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import cast
from urllib.parse import urlparse

import requests

from soilsat.acquire.download import RetryPolicy, TransferError, request
from soilsat.errors import ConfigError

ENV_USER = "CDSE_USERNAME"
ENV_PASSWORD = "CDSE_PASSWORD"
ENV_TOTP = "CDSE_TOTP_SECRET"
ENV_CDS_KEY = "CDSAPI_KEY"
ENV_CDS_RC = "CDSAPI_RC"
REFRESH_MARGIN_S = 60.0
TOTP_STEP_S = 30
TOTP_GUARD_S = 0.5  # past the step boundary, for clocks that differ a little

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Credentials:
    """A CDSE account; repr never shows the secrets."""

    username: str = dataclasses.field(repr=False)
    password: str = dataclasses.field(repr=False)
    totp_secret: str | None = dataclasses.field(default=None, repr=False)


def load_credentials(
    token_url: str, environ: Mapping[str, str] | None = None, netrc_path: str | None = None
) -> Credentials:
    """Credentials from CDSE_USERNAME / CDSE_PASSWORD (+ CDSE_TOTP_SECRET), else from ~/.netrc for the token host."""
    env = os.environ if environ is None else environ
    totp = env.get(ENV_TOTP) or None
    if env.get(ENV_USER) and env.get(ENV_PASSWORD):
        return Credentials(env[ENV_USER], env[ENV_PASSWORD], totp)
    host = urlparse(token_url).hostname or ""
    path = Path(netrc_path or env.get("NETRC") or Path.home() / ".netrc")
    if path.exists():
        try:
            entry = netrc.netrc(str(path)).authenticators(host)
        except (netrc.NetrcParseError, OSError) as exc:
            raise ConfigError(f"{path}: unreadable netrc file ({type(exc).__name__})") from None
        if entry and entry[0] and entry[2]:
            return Credentials(entry[0], entry[2], totp)
    raise ConfigError(
        f"no CDSE credentials: set {ENV_USER} and {ENV_PASSWORD} (and {ENV_TOTP} with two-factor "
        f"login) or add 'machine {host} login ... password ...' to {path}"
    )


def load_cds_key(environ: Mapping[str, str] | None = None, rc_path: str | None = None) -> str:
    """The Climate Data Store API key: CDSAPI_KEY, else the `key:` line of CDSAPI_RC or ~/.cdsapirc (as cdsapi)."""
    env = os.environ if environ is None else environ
    path = Path(rc_path or env.get(ENV_CDS_RC) or Path.home() / ".cdsapirc")
    key, where = (env.get(ENV_CDS_KEY) or "").strip() or None, ENV_CDS_KEY
    if key is None and path.is_file():
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: unreadable CDS API configuration ({type(exc).__name__})") from None
        for line in lines:
            name, sep, value = line.partition(":")
            if sep and name.strip() == "key":
                key, where = value.strip() or None, str(path)
    if key is None:
        raise ConfigError(
            f"no Climate Data Store API key (weather.service: era5-land-cds): set {ENV_CDS_KEY} or write "
            f"'key: <your API token>' into {path}; the token is on your profile page at "
            "cds.climate.copernicus.eu, where the licence of reanalysis-era5-land must be accepted too"
        )
    if ":" in key:
        # cdsapi would take a UID:KEY key for the old CDS (retired in 2024) and talk its discontinued API.
        raise ConfigError(
            f"the CDS API key in {where} has the old 'UID:KEY' form, which the current Climate Data "
            "Store no longer accepts; copy the personal access token from your CDS profile page"
        )
    return key


def totp_code(secret: str, at: float | None = None, digits: int = 6, step: int = 30) -> str:
    """The RFC 6238 one-time code of a base32 secret (a dozen lines of hmac; not worth a dependency)."""
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret.replace(" ", "")) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def token_cache_folder(setting: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """The folder of the shared token cache: the configured one, else $XDG_CACHE_HOME/soilsat or ~/.cache/soilsat."""
    if setting:
        return Path(setting).expanduser()
    env = os.environ if environ is None else environ
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "soilsat"


@dataclasses.dataclass
class TokenState:
    """What the token cache holds: the tokens, their wall-clock expiry and the TOTP step of the last login."""

    access: str | None = None
    refresh: str | None = None
    expires: float = 0.0
    refresh_expires: float = 0.0
    login_step: int | None = None

    def __repr__(self) -> str:
        return (
            f"TokenState(expires={self.expires}, refresh_expires={self.refresh_expires}, login_step={self.login_step})"
        )


class MemoryTokens:
    """A token cache for one process (no file)."""

    def __init__(self) -> None:
        self._state = TokenState()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[TokenState]:
        """The state, held exclusively for the block."""
        with self._lock:
            yield self._state


class FileTokens:
    """A token cache shared by processes: <folder>/cdse-token-<key>.json (mode 600), locked through <...>.lock."""

    def __init__(self, folder: Path, token_url: str, username: str):
        key = hashlib.sha256(f"{token_url}\n{username}".encode()).hexdigest()[:16]
        self.path = Path(folder) / f"cdse-token-{key}.json"
        self._lock = threading.Lock()  # fcntl locks are per process: threads queue here first

    def _read(self) -> TokenState:
        try:
            data = json.loads(self.path.read_text())
            return TokenState(**{f.name: data.get(f.name, f.default) for f in dataclasses.fields(TokenState)})
        except (OSError, ValueError, TypeError):
            return TokenState()

    def _write(self, state: TokenState) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(dataclasses.asdict(state), f)
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[TokenState]:
        """The cached state, held under an exclusive lock for the block and written back after it."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX)
                state = self._read()
                before = dataclasses.asdict(state)
                yield state
                if dataclasses.asdict(state) != before:
                    self._write(state)
            finally:
                os.close(fd)  # closing releases the lock


class TokenManager:
    """OIDC tokens of the CDSE identity service: password grant, refreshed before expiry, kept in a token cache
    (shared between the jobs of an account when it is a FileTokens)."""

    def __init__(
        self,
        session: requests.Session,
        token_url: str,
        client_id: str,
        credentials: Credentials,
        policy: RetryPolicy,
        cache: MemoryTokens | FileTokens | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._session, self._url, self._client_id = session, token_url, client_id
        self._credentials, self._policy = credentials, policy
        self._cache = cache if cache is not None else MemoryTokens()
        self._clock, self._sleep = clock, sleep
        self._used: str | None = None  # the access token this process last handed out

    def __repr__(self) -> str:
        return f"TokenManager({self._url!r}, client_id={self._client_id!r})"

    def _grant(self, data: dict[str, str], state: TokenState) -> None:
        try:
            resp = request(self._session, "POST", self._url, self._policy, data=data)
        except TransferError as exc:
            kind = "refresh" if data["grant_type"] == "refresh_token" else "login"
            raise TransferError(
                f"CDSE {kind} failed: {exc} (check {ENV_USER}/{ENV_PASSWORD} or ~/.netrc)", exc.status, exc.reason
            ) from None
        body = resp.json()
        now = self._clock()
        state.access = body["access_token"]
        state.refresh = body.get("refresh_token")
        state.expires = now + float(body.get("expires_in", 600))
        state.refresh_expires = now + float(body.get("refresh_expires_in", 0))

    def _login(self, state: TokenState) -> None:
        """A password grant; with two-factor login, in a TOTP step of its own (a code is accepted once)."""
        data = {
            "grant_type": "password",
            "client_id": self._client_id,
            "username": self._credentials.username,
            "password": self._credentials.password,
        }
        now = self._clock()
        if self._credentials.totp_secret:
            if state.login_step is not None and now // TOTP_STEP_S <= state.login_step:
                wait = (state.login_step + 1) * TOTP_STEP_S - now + TOTP_GUARD_S
                log.info("CDSE: waiting %.1f s for the next one-time code (the last login used this one)", wait)
                self._sleep(wait)
                now = self._clock()
            data["totp"] = totp_code(self._credentials.totp_secret, at=now)
        state.login_step = int(now // TOTP_STEP_S)
        self._grant(data, state)

    def token(self, force: bool = False) -> str:
        """A valid access token: the cached one (unless `force`d because it was refused and nobody renewed it since),
        else a refreshed one, else a new login."""
        with self._cache.locked() as state:
            now = self._clock()
            stale = force and state.access == self._used
            if state.access and now < state.expires - REFRESH_MARGIN_S and not stale:
                self._used = state.access
                return state.access
            if state.refresh and now < state.refresh_expires - REFRESH_MARGIN_S:
                try:
                    self._grant(
                        {"grant_type": "refresh_token", "refresh_token": state.refresh, "client_id": self._client_id},
                        state,
                    )
                    self._used = state.access
                    return cast(str, state.access)  # _grant has just set it from the response
                except TransferError:
                    state.refresh = None
            self._login(state)
            self._used = state.access
            return cast(str, state.access)  # _login's _grant has just set it from the response

    def headers(self, refresh: bool = False) -> dict[str, str]:
        """The Authorization header (a fresh token if `refresh`)."""
        return {"Authorization": f"Bearer {self.token(force=refresh)}"}
