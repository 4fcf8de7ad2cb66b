"""Earthdata Login credentials: a token, a username and password, or netrc, never anything else."""

from __future__ import annotations

import pytest


def test_earthdata_credentials_come_from_the_environment_or_netrc_only(tmp_path):
    from soilsat.acquire.earthdata_login import load_earthdata_credentials
    from soilsat.errors import ConfigError

    login = "https://urs.earthdata.nasa.gov"
    token = load_earthdata_credentials(
        login, {"EARTHDATA_TOKEN": " tok-123 ", "EARTHDATA_USERNAME": "u", "EARTHDATA_PASSWORD": "p"}, tmp_path / "none"
    )
    assert token.uses_token and token.token == "tok-123" and token.source == "EARTHDATA_TOKEN"
    account = load_earthdata_credentials(
        login, {"EARTHDATA_USERNAME": "u", "EARTHDATA_PASSWORD": "p-secret"}, tmp_path / "none"
    )
    assert (account.username, account.password, account.uses_token) == ("u", "p-secret", False)
    assert "p-secret" not in repr(account) and "tok-123" not in repr(token)
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine urs.earthdata.nasa.gov login nu password np-secret\n")
    netrc_file.chmod(0o600)
    from_netrc = load_earthdata_credentials(login, {}, netrc_file)
    assert (from_netrc.username, from_netrc.password, from_netrc.source) == ("nu", "np-secret", str(netrc_file))
    with pytest.raises(ConfigError) as err:
        load_earthdata_credentials(login, {}, tmp_path / "none")
    assert str(err.value) == (
        "no NASA Earthdata credentials: set EARTHDATA_TOKEN (a token from your Earthdata Login "
        "profile), or EARTHDATA_USERNAME and EARTHDATA_PASSWORD, or add 'machine "
        f"urs.earthdata.nasa.gov login ... password ...' to {tmp_path / 'none'}"
    )
