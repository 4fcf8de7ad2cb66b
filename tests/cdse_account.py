"""A CDSE test account on the loopback server: its credentials, the config that points each source at the server,
and small zipped SAFE products to serve."""

from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback import CATALOGUE_PATH, DOWNLOAD_PATH, RETRIES, TOKEN_PATH, Loopback, serve

USER, PASSWORD = "tester@example.org", "s3cret-Pa55word-for-tests"
REGION = {"name": "skjern", "lon": 8.99, "lat": 55.95, "size_m": 2000}


@contextlib.contextmanager
def account_server(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    """The loopback server with the test account, its credentials in the environment, a token cache of the test."""
    monkeypatch.setenv("CDSE_USERNAME", USER)
    monkeypatch.setenv("CDSE_PASSWORD", PASSWORD)
    monkeypatch.delenv("CDSE_TOTP_SECRET", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("user-cache")))  # the token cache of the test
    with serve() as state:
        state.users[USER] = PASSWORD
        yield state


def settings_for(url: str, **extra) -> dict:
    """A cdse config section pointing at the loopback server, with tiny backoff delays."""
    return {
        "catalogue_url": f"{url}{CATALOGUE_PATH}",
        "download_url": f"{url}{DOWNLOAD_PATH}",
        "token_url": f"{url}{TOKEN_PATH}",
        "client_id": "cdse-public",
        "page_size": 10,
        "max_results": 10000,
        "orbit_direction": None,
        "relative_orbits": [],
        "cloud_cover_max": None,
        "token_cache": None,
        "retries": {
            "max_tries": 4,
            "base_delay_s": 0.001,
            "max_delay_s": 0.01,
            "timeout_s": 5,
            "quota_wait_s": 0.01,
            "quota_tries": 12,
        },
    } | extra


def settings(url: str, tmp: Path, **sections) -> dict:
    """The settings of the real provider for REGION, every source pointed at the loopback server or unset."""
    base = {
        "regions": [REGION],
        "grid": {"margin_m": 500, "resolution": 10},
        "cdse": settings_for(url),
        "orbits": {
            "types": ["AUX_POEORB", "AUX_RESORB"],
            "margin_s": 60,
            "source": "cdse",
            "asf_url": f"{url}/asf",
            "retries": RETRIES,
        },
        "weather": {
            "url": f"{url}/v1/archive",
            "model": "era5_land",
            "cache_dir": str(tmp / "cache" / "weather"),
            "retries": RETRIES,
        },
        "dem": {
            "url": f"{url}/dem",
            "glo90_url": f"{url}/dem90",
            "margin_m": 0,
            "geoid_grid": None,
            "cache_dir": str(tmp / "cache" / "dem"),
            "retries": RETRIES,
        },
        "ismn": {"archive": None, "networks": None, "stations": None, "depth_to": 0.05},
        "landcover": {"path": None},
        "soil": {"path": None, "bands": None},
        "lucas": {
            "path": None,
            "coordinates": None,
            "points": None,
            "year": None,
            "land_cover_prefixes": [],
            "clip_to_regions": True,
        },
    }
    for key, value in sections.items():
        base[key] = base[key] | value
    return base


def safe_zip(
    name: str = "S1A_IW_GRDH_1SDV_20200101T000000_20200101T000025_030000_036000_ABCD",
    extra: dict | None = None,
    drop_listed: bool = False,
) -> bytes:
    """A small zipped SAFE whose manifest lists its files."""
    files = {"annotation/a.xml": b"<a/>", "measurement/m.tiff": b"\x00" * 4096}
    manifest = "<xfdu>" + "".join(f'<fileLocation locatorType="URL" href="./{k}"/>' for k in files) + "</xfdu>"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}.SAFE/manifest.safe", manifest)
        for k, v in files.items():
            if drop_listed and k.startswith("measurement"):
                continue
            z.writestr(f"{name}.SAFE/{k}", v)
        for k, v in (extra or {}).items():
            z.writestr(k, v)
    return buf.getvalue()


def item_for(server: Loopback, data: bytes, pid: str = "0000-aaaa", md5: str | None = None) -> dict:
    """A catalog item of a product the server serves for download."""
    server.files[f"{DOWNLOAD_PATH}/Products({pid})/$value"] = data
    checksum = md5 or hashlib.md5(data).hexdigest()
    return {
        "name": "P",
        "source": "sentinel1",
        "size": str(len(data)),
        "checksum": checksum,
        "href": f"{server.url}{DOWNLOAD_PATH}/Products({pid})/$value",
    }
