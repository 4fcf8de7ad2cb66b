"""CDSE credentials and tokens: the environment or netrc, TOTP codes, and logins shared between jobs."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from cdse_account import PASSWORD, USER, account_server
from loopback import TOKEN_PATH
from soilsat.acquire.credentials import Credentials, FileTokens, MemoryTokens, TokenManager, load_credentials, totp_code
from soilsat.acquire.download import RetryPolicy, TransferError
from soilsat.errors import ConfigError


@pytest.fixture()
def server(monkeypatch, tmp_path_factory):
    with account_server(monkeypatch, tmp_path_factory) as state:
        yield state


def test_credentials_from_environment_or_netrc(tmp_path):
    creds = load_credentials("https://identity.example/token", {"CDSE_USERNAME": "u", "CDSE_PASSWORD": "pw"})
    assert (creds.username, creds.password) == ("u", "pw") and "pw" not in repr(creds)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine identity.example login nuser password npass\n")
    netrc.chmod(0o600)
    creds = load_credentials("https://identity.example/token", {}, str(netrc))
    assert (creds.username, creds.password) == ("nuser", "npass")
    with pytest.raises(ConfigError, match="set CDSE_USERNAME and CDSE_PASSWORD"):
        load_credentials("https://identity.example/token", {}, str(tmp_path / "none"))


def test_totp_matches_rfc6238_vector():
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890" at T=59 s: 94287082 (8 digits).
    assert totp_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", at=59, digits=8) == "94287082"
    assert totp_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", at=1111111109, digits=8) == "07081804"


class Clock:
    """A wall clock the test moves: sleeping advances it."""

    def __init__(self, t: float):
        self.t, self.sleeps = t, []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def test_no_two_logins_within_one_totp_step(server, tmp_path):
    import requests

    clock = Clock(999_995.0)  # 5 s into a 30 s step
    server.clock = clock
    server.totp_secrets[USER] = SECRET
    creds, policy = (
        Credentials(USER, PASSWORD, SECRET),
        RetryPolicy(max_tries=1, base_delay_s=2.0, max_delay_s=120.0, timeout_s=60.0, quota_wait_s=None, quota_tries=0),
    )
    cache = FileTokens(tmp_path / "tokens", f"{server.url}{TOKEN_PATH}", USER)
    first = TokenManager(
        requests.Session(),
        f"{server.url}{TOKEN_PATH}",
        "cdse-public",
        creds,
        policy,
        cache,
        clock=clock,
        sleep=clock.sleep,
    )
    second = TokenManager(
        requests.Session(),
        f"{server.url}{TOKEN_PATH}",
        "cdse-public",
        creds,
        policy,
        cache,
        clock=clock,
        sleep=clock.sleep,
    )
    token = first.token()
    assert second.token() == token  # shared: no second login
    server.revoke_sessions()  # the session ends (e.g. logged out elsewhere): the next job must log in again
    clock.t += 10.0  # still the same step
    assert second.token(force=True) != token
    grants = [dict(parse_qsl(r["body"])) for r in server.requests if r["path"] == TOKEN_PATH]
    assert [g["grant_type"] for g in grants] == ["password", "refresh_token", "password"]
    assert clock.sleeps == [pytest.approx(15.5)]  # to the next step (plus half a second)
    assert grants[0]["totp"] == totp_code(SECRET, at=999_995.0)
    assert grants[2]["totp"] == totp_code(SECRET, at=1_000_020.5) != grants[0]["totp"]


def test_keycloak_refuses_a_code_used_twice(server, tmp_path):
    import requests

    clock = Clock(1_000_005.0)
    server.clock = clock
    server.totp_secrets[USER] = SECRET
    creds, policy = (
        Credentials(USER, PASSWORD, SECRET),
        RetryPolicy(max_tries=1, base_delay_s=2.0, max_delay_s=120.0, timeout_s=60.0, quota_wait_s=None, quota_tries=0),
    )
    url = f"{server.url}{TOKEN_PATH}"
    apart = [
        TokenManager(
            requests.Session(), url, "cdse-public", creds, policy, MemoryTokens(), clock=clock, sleep=clock.sleep
        )
        for _ in range(2)
    ]  # two jobs that do not share
    apart[0].token()
    with pytest.raises(TransferError, match=r"CDSE login failed: .*HTTP 401 Unauthorized: Invalid user credentials"):
        apart[1].token()
