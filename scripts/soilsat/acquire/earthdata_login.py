"""Earthdata Login: the credentials of a NASA Earthdata account and the HTTP session that uses them.

Credentials come from the environment or ~/.netrc only, never from a config file, and are never logged:
EARTHDATA_TOKEN (a user token generated on the Earthdata Login profile page), else EARTHDATA_USERNAME and
EARTHDATA_PASSWORD, else the netrc entry of the Earthdata Login host (machine urs.earthdata.nasa.gov).

A token goes as `Authorization: Bearer` with download requests to the configured NASA domains only. A
username and password follow Earthdata Login's redirect flow: the archive answers a download with a
redirect to <login>/oauth/authorize, which gets the password as HTTP Basic auth (only that host ever does),
redirects back to the archive with a code, and the archive sets a session cookie and redirects to the file
(in the cloud archives, a signed S3 address that must not see any Authorization header).
"""

from __future__ import annotations

import dataclasses
import netrc
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import requests

from soilsat.errors import ConfigError

ENV_TOKEN = "EARTHDATA_TOKEN"
ENV_USER = "EARTHDATA_USERNAME"
ENV_PASSWORD = "EARTHDATA_PASSWORD"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclasses.dataclass(frozen=True)
class EarthdataCredentials:
    """An Earthdata Login account (username and password) or a user token; repr never shows a secret."""

    username: str | None = dataclasses.field(default=None, repr=False)
    password: str | None = dataclasses.field(default=None, repr=False)
    token: str | None = dataclasses.field(default=None, repr=False)
    source: str = ""  # where they came from, for messages

    @property
    def uses_token(self) -> bool:
        """Whether downloads carry a bearer token (else they follow the redirect flow with the password)."""
        return bool(self.token)


def load_earthdata_credentials(
    login_url: str, environ: Mapping[str, str] | None = None, netrc_path: str | os.PathLike | None = None
) -> EarthdataCredentials:
    """Credentials from EARTHDATA_TOKEN, else EARTHDATA_USERNAME/EARTHDATA_PASSWORD, else ~/.netrc (login host)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_TOKEN, "").strip():
        return EarthdataCredentials(token=env[ENV_TOKEN].strip(), source=ENV_TOKEN)
    if env.get(ENV_USER) and env.get(ENV_PASSWORD):
        return EarthdataCredentials(env[ENV_USER], env[ENV_PASSWORD], source=f"{ENV_USER}/{ENV_PASSWORD}")
    host = urlsplit(login_url).hostname or ""
    path = Path(netrc_path or env.get("NETRC") or Path.home() / ".netrc")
    if path.exists():
        try:
            entry = netrc.netrc(str(path)).authenticators(host)
        except (netrc.NetrcParseError, OSError) as exc:
            raise ConfigError(f"{path}: unreadable netrc file ({type(exc).__name__})") from None
        if entry and entry[0] and entry[2]:
            return EarthdataCredentials(entry[0], entry[2], source=str(path))
    raise ConfigError(
        f"no NASA Earthdata credentials: set {ENV_TOKEN} (a token from your Earthdata Login profile), "
        f"or {ENV_USER} and {ENV_PASSWORD}, or add 'machine {host} login ... password ...' to {path}"
    )


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port made explicit."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(parts.scheme)


def in_domains(url: str, domains: Sequence[str]) -> bool:
    """Whether a URL's host is one of the domains or a subdomain of one (a domain given as host:port matches that
    host and port only)."""
    parts = urlsplit(url)
    host, netloc = (parts.hostname or "").lower(), parts.netloc.lower()
    return any(
        netloc == d.lower() if ":" in d else host == d.lower() or host.endswith("." + d.lower()) for d in domains
    )


class EarthdataSession(requests.Session):
    """A session that sends the password only to Earthdata Login and the token only to the configured domains,
    whatever the redirects, and never reads credentials of its own from ~/.netrc."""

    def __init__(self, login_url: str, credentials: EarthdataCredentials, token_domains: Sequence[str]):
        super().__init__()
        self._login = origin(login_url)
        self._credentials = credentials
        self._token_domains = tuple(token_domains)

    def __repr__(self) -> str:
        return f"EarthdataSession(login={self._login[1]!r}, token={self._credentials.uses_token})"

    def auth_headers(self, url: str) -> dict[str, str]:
        """The Authorization header a request to `url` carries: the bearer token for the configured domains."""
        if self._credentials.uses_token and in_domains(url, self._token_domains):
            return {"Authorization": f"Bearer {self._credentials.token}"}
        return {}

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """On a redirect: drop any Authorization header, then add Basic auth for Earthdata Login or the bearer
        token for the configured domains (requests would otherwise keep it within a host, or take it from netrc)."""
        prepared_request.headers.pop("Authorization", None)
        url = prepared_request.url or ""
        if origin(url) == self._login and not self._credentials.uses_token:
            prepared_request.prepare_auth((self._credentials.username or "", self._credentials.password or ""))
        else:
            prepared_request.headers.update(self.auth_headers(url))
