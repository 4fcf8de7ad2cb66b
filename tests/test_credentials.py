"""Credentials never leave the environment: acquire runs against the loopback CDSE and CDS, then every file searched."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess

import pytest
import yaml

from cdse_account import PASSWORD, USER, safe_zip, settings_for
from conftest import ROOT, SNAKEMAKE
from loopback import DOWNLOAD_PATH, serve, synthetic_catalogue
from soilsat.acquire.tables import read_weather
from test_acquire_era5 import KEY, RETRIES, serve_cds

pytestmark = pytest.mark.e2e
NAMES = [
    "S1A_IW_GRDH_1SDV_20200403T171500_20200403T171525_032000_036000_ABCD",
    "S1A_IW_GRDH_1SDV_20200415T171500_20200415T171525_032175_036600_BCDE",
]
TOKENS = re.compile(r"(access|refresh)-\d+")


def _product(index: int, name: str, data: bytes) -> dict:
    start = f"{name[17:21]}-{name[21:23]}-{name[23:25]}T17:15:00.000000Z"
    return {
        "Id": f"id-{index}",
        "Name": f"{name}.SAFE",
        "ContentLength": len(data),
        "Footprint": "geography'SRID=4326;POLYGON ((8 55, 10 55, 10 57, 8 57, 8 55))'",
        "Checksum": [{"Algorithm": "MD5", "Value": hashlib.md5(data).hexdigest()}],
        "ContentDate": {"Start": start, "End": start.replace("17:15:00", "17:15:25")},
        "Attributes": [
            {"Name": "productType", "Value": "IW_GRDH_1S"},
            {"Name": "orbitDirection", "Value": "ASCENDING"},
            {"Name": "relativeOrbitNumber", "Value": 117},
            {"Name": "orbitNumber", "Value": 32000},
            {"Name": "platformShortName", "Value": "SENTINEL-1"},
            {"Name": "platformSerialIdentifier", "Value": "A"},
        ],
    }


def test_acquire_run_leaves_no_password_or_token_behind(tmp_path):
    config = yaml.safe_load((ROOT / "tests" / "configs" / "tiny.yaml").read_text())
    config.pop("demo", None)
    config |= {"study": "creds", "provider": "cdse", "regions": config["regions"][:1], "methods": ["simonsen2021"]}
    with serve() as server:
        server.users[USER] = PASSWORD
        products = []
        for i, name in enumerate(NAMES):
            data = safe_zip(name)
            products.append(_product(i, name, data))
            server.files[f"{DOWNLOAD_PATH}/Products(id-{i})/$value"] = data
        server.catalogue = synthetic_catalogue(products)
        cdse = settings_for(server.url)
        config["cdse"] = {k: cdse[k] for k in ("catalogue_url", "download_url", "token_url", "retries")}
        configfile = tmp_path / "creds.yaml"
        configfile.write_text(yaml.safe_dump(config))
        (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
        env = {k: v for k, v in os.environ.items() if not k.startswith("CDSE_")}
        env |= {
            "PYTHONPATH": str(ROOT / "scripts"),
            "HOME": str(tmp_path),
            "NETRC": str(tmp_path / "no-netrc"),
            "CDSE_USERNAME": USER,
            "CDSE_PASSWORD": PASSWORD,
        }
        targets = [f"resources/cdse/sentinel1/{name}.zip" for name in NAMES]
        cmd = [
            str(SNAKEMAKE),
            *targets,
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--cores",
            "1",
            "--configfile",
            str(configfile),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        issued = server._n
        requests = list(server.requests)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for target in targets:
        assert (tmp_path / target).stat().st_size > 0
    # the run did use the credentials: a password grant, then downloads with the bearer token
    assert issued >= 1 and any("Products(id-0)/$value" in r["path"] for r in requests)
    searched = [p for d in ("logs", "results", ".snakemake/log") for p in (tmp_path / d).rglob("*") if p.is_file()]
    assert any("logs" in p.parts for p in searched) and any(p.suffix == ".csv" for p in searched)
    leaks = []
    for path in searched:
        text = path.read_bytes().decode("utf-8", "replace")
        if PASSWORD in text or TOKENS.search(text):
            leaks.append(str(path.relative_to(tmp_path)))
    assert not leaks, f"the password or a token is written in {leaks}"
    assert PASSWORD not in proc.stdout + proc.stderr and not TOKENS.search(proc.stdout + proc.stderr)


def test_era5_land_run_leaves_no_cds_key_behind(tmp_path):
    config = yaml.safe_load((ROOT / "tests" / "configs" / "tiny.yaml").read_text())
    config.pop("demo", None)
    config |= {"study": "cdskey", "provider": "cdse", "regions": config["regions"][:1], "methods": ["simonsen2021"]}
    with serve_cds() as cds:
        config["weather"] = {"service": "era5-land-cds", "cds": {"url": cds.api}, "retries": RETRIES}
        configfile = tmp_path / "cdskey.yaml"
        configfile.write_text(yaml.safe_dump(config))
        (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CDSE_", "CDSAPI_"))}
        env |= {
            "PYTHONPATH": str(ROOT / "scripts"),
            "HOME": str(tmp_path),
            "NETRC": str(tmp_path / "no-netrc"),
            "CDSAPI_KEY": KEY,
            "CDSAPI_RC": str(tmp_path / "no-cdsapirc"),
        }
        target = "resources/cdse/cdskey/weather"
        cmd = [
            str(SNAKEMAKE),
            target,
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--cores",
            "1",
            "--configfile",
            str(configfile),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        calls = [r for r in cds.requests if r["path"].startswith("/api/retrieve/")]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = read_weather(tmp_path / target / "weather_skjern.csv")
    assert len(table) == 50 and table[["precipitation", "tmean"]].notna().all().all()
    # the run did use the key: every retrieve-API call carried it
    assert len(cds.submitted) == 3 and calls and all(r["headers"].get("PRIVATE-TOKEN") == KEY for r in calls)
    searched = [
        p for d in ("logs", "results", "resources", ".snakemake/log") for p in (tmp_path / d).rglob("*") if p.is_file()
    ]
    assert any(p.suffix == ".nc" for p in searched) and any(p.name == "weather.csv" for p in searched)
    leaks = [str(p.relative_to(tmp_path)) for p in searched if KEY in p.read_bytes().decode("latin-1")]
    assert not leaks, f"the CDS API key is written in {leaks}"
    assert KEY not in proc.stdout + proc.stderr


@pytest.mark.parametrize("flow", ["token", "password"])
def test_earthdata_search_and_fetch_leave_no_password_or_token_behind(tmp_path, monkeypatch, caplog, flow):
    import logging

    from loopback_earthdata import serve_earthdata
    from soilsat.acquire.catalog import write_catalog
    from soilsat.acquire.earthdata import EarthdataProvider
    from test_acquire_earthdata import granule, settings_for

    secret_password, secret_token = "Edl-Secret-Pa55", "edl-Secret-Token-77"
    for key in ("EARTHDATA_TOKEN", "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    if flow == "token":
        monkeypatch.setenv("EARTHDATA_TOKEN", secret_token)
    else:
        monkeypatch.setenv("EARTHDATA_USERNAME", "tester")
        monkeypatch.setenv("EARTHDATA_PASSWORD", secret_password)
    with serve_earthdata() as server:
        server.users["tester"] = secret_password
        server.tokens.add(secret_token)
        data = b"\x89HDF\r\n\x1a\n" + b"smap" * 500
        name = "SMAP_L3_SM_P_E_20200901_R19240_001.h5"
        server.files[f"/smap/{name}"] = data
        server.granules.append(granule(name, "2020-09-01", server.file_url(f"/smap/{name}"), data))
        server.fault(f"/smap/{name}", "500")
        settings = {
            "earthdata": settings_for(server),
            "grid": {"margin_m": 250},
            "regions": [{"name": "kansas", "lon": -96.6, "lat": 39.1, "size_m": 5000}],
        }
        provider = EarthdataProvider(settings)
        with caplog.at_level(logging.DEBUG):
            catalog = provider.search("smap_l3_sm", ["kansas"], dt.date(2020, 9, 1), dt.date(2020, 9, 1))
            write_catalog(catalog, tmp_path / "results" / "catalog" / "smap_l3_sm.csv")
            provider.fetch(catalog.iloc[0].to_dict(), tmp_path / "resources" / "earthdata" / name)
        sent = list(server.requests)
    assert (tmp_path / "resources" / "earthdata" / name).read_bytes() == data
    # the run did use the credentials: the token at the DAAC, or the password at Earthdata Login
    used = [r for r in sent if r["headers"].get("Authorization")]
    assert used and {r["server"] for r in used} == ({"daac"} if flow == "token" else {"edl"})
    texts = caplog.text + repr(provider.client) + repr(provider.client.session) + repr(provider.client.credentials)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".h5":
            texts += path.read_bytes().decode("utf-8", "replace")
    assert secret_password not in texts and secret_token not in texts
