"""Credentials (CDSE account and tokens, CDS API key): from the environment or dot files only, never from config or logs."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import netrc
import os
import struct
import threading
import time
from collections.abc import Mapping
from pathlib import Path
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


@dataclasses.dataclass(frozen=True)
class Credentials:
    """A CDSE account; repr never shows the secrets."""

    username: str = dataclasses.field(repr=False)
    password: str = dataclasses.field(repr=False)
    totp_secret: str | None = dataclasses.field(default=None, repr=False)


def load_credentials(token_url: str, environ: Mapping[str, str] | None = None, netrc_path: str | None = None) -> Credentials:
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
    raise ConfigError(f"no CDSE credentials: set {ENV_USER} and {ENV_PASSWORD} (and {ENV_TOTP} with two-factor "
                      f"login) or add 'machine {host} login ... password ...' to {path}")


def load_cds_key(environ: Mapping[str, str] | None = None, rc_path: str | None = None) -> str:
    """The Climate Data Store API key from CDSAPI_KEY, else the `key:` line of CDSAPI_RC or ~/.cdsapirc (as cdsapi reads it)."""
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
        raise ConfigError(f"no Climate Data Store API key (weather.service: era5-land-cds): set {ENV_CDS_KEY} or write "
                          f"'key: <your API token>' into {path}; the token is on your profile page at "
                          "cds.climate.copernicus.eu, where the licence of reanalysis-era5-land must be accepted too")
    if ":" in key:
        # cdsapi would take a UID:KEY key for the old CDS (retired in 2024) and talk its discontinued API.
        raise ConfigError(f"the CDS API key in {where} has the old 'UID:KEY' form, which the current Climate Data "
                          "Store no longer accepts; copy the personal access token from your CDS profile page")
    return key


def totp_code(secret: str, at: float | None = None, digits: int = 6, step: int = 30) -> str:
    """The RFC 6238 one-time code of a base32 secret (a dozen lines of hmac; not worth a dependency)."""
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret.replace(" ", "")) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


class TokenManager:
    """OIDC tokens of the CDSE identity service: password grant, refreshed before expiry."""

    def __init__(self, session: requests.Session, token_url: str, client_id: str, credentials: Credentials,
                 policy: RetryPolicy, clock=time.monotonic):
        self._session, self._url, self._client_id = session, token_url, client_id
        self._credentials, self._policy, self._clock = credentials, policy, clock
        self._lock = threading.Lock()
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires = 0.0
        self._refresh_expires = 0.0

    def __repr__(self) -> str:
        return f"TokenManager({self._url!r}, client_id={self._client_id!r})"

    def _grant(self, data: dict[str, str]) -> None:
        try:
            resp = request(self._session, "POST", self._url, self._policy, data=data)
        except TransferError as exc:
            kind = "refresh" if data["grant_type"] == "refresh_token" else "login"
            raise TransferError(f"CDSE {kind} failed: {exc} (check {ENV_USER}/{ENV_PASSWORD} or ~/.netrc)") from None
        body = resp.json()
        now = self._clock()
        self._access = body["access_token"]
        self._refresh = body.get("refresh_token")
        self._expires = now + float(body.get("expires_in", 600))
        self._refresh_expires = now + float(body.get("refresh_expires_in", 0))

    def token(self, force: bool = False) -> str:
        """A valid access token; a new one when forced or within a minute of expiry."""
        with self._lock:
            now = self._clock()
            if not force and self._access and now < self._expires - REFRESH_MARGIN_S:
                return self._access
            if self._refresh and now < self._refresh_expires - REFRESH_MARGIN_S:
                try:
                    self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh,
                                 "client_id": self._client_id})
                    return self._access
                except TransferError:
                    self._refresh = None
            data = {"grant_type": "password", "client_id": self._client_id,
                    "username": self._credentials.username, "password": self._credentials.password}
            if self._credentials.totp_secret:
                data["totp"] = totp_code(self._credentials.totp_secret)
            self._grant(data)
            return self._access

    def headers(self, refresh: bool = False) -> dict[str, str]:
        """The Authorization header (a fresh token if `refresh`)."""
        return {"Authorization": f"Bearer {self.token(force=refresh)}"}
