"""Precise orbits of Sentinel-1 products: the AUX_POEORB (else AUX_RESORB) file covering a product.

From CDSE (catalogue search, download with the account's token) or, without credentials,
from ASF's public S3 bucket of orbit files (keys <type>/<S1x>_OPER_<type>_OPOD_<production>_
V<start>_<stop>.EOF). The production stamp says nothing of the period a file covers: every
orbit file of 2014 to 2020 in the bucket was produced in 2021 (a reprocessing), and its
RESORB files begin in 2023-10. So the bucket is listed by type and platform, and the file is
chosen by the validity window in its name, as sentineleof does.

The file chosen covers the product's sensing time plus a margin on both sides; among
several, the most recently produced one wins. CDSE serves the EOF file itself (a zip holding
one EOF is accepted too); it is delivered unmodified, written as <product>.EOF (its own name
goes to the log).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypedDict

import pandas as pd
import requests
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as ET

from soilsat.acquire.archives import check_members
from soilsat.acquire.cdse import CdseClient
from soilsat.acquire.download import RetryPolicy, download, request
from soilsat.acquire.odata import COLLECTIONS, ISO, attribute_filter, catalog_row
from soilsat.errors import ProductError
from soilsat.io import atomic_path

log = logging.getLogger(__name__)


class EofName(TypedDict):
    """The fields of a Sentinel-1 orbit file name."""

    platform: str
    type: str
    produced: dt.datetime
    start: dt.datetime
    stop: dt.datetime


_EOF = re.compile(r"^(S1[A-D_])_OPER_(AUX_POEORB|AUX_RESORB)_OPOD_(\d{8}T\d{6})_V(\d{8}T\d{6})_(\d{8}T\d{6})")


def parse_eof_name(name: str) -> EofName:
    """Platform, type, production time and validity interval of an EOF file name."""
    match = _EOF.match(Path(name).name)
    if not match:
        raise ValueError(f"{name!r} is not a Sentinel-1 orbit file name")
    mission, kind, *stamps = match.groups()
    produced, start, stop = (dt.datetime.strptime(s, "%Y%m%dT%H%M%S") for s in stamps)
    return {"platform": mission, "type": kind, "produced": produced, "start": start, "stop": stop}


_PRODUCT = re.compile(r"^(S1[A-D])_[A-Z0-9]{2}_[A-Z_]{4}_[A-Z0-9_]{4}_(\d{8}T\d{6})_(\d{8}T\d{6})_")


def product_record(name: str) -> dict[str, str]:
    """The name, sensing start and sensing stop (UTC) of a Sentinel-1 product, from its name, as fetch_orbit takes
    them (the name's stop, truncated to the second, plus one second); ProductError when it is not such a name."""
    match = _PRODUCT.match(Path(name).name)
    if not match:
        raise ProductError(
            name,
            "not a Sentinel-1 product name (S1x_MM_TTTR_LFPP_<start>_<stop>_...): its orbit file cannot be chosen",
        )
    start, stop = (dt.datetime.strptime(s, "%Y%m%dT%H%M%S") for s in match.groups()[1:])
    stop += dt.timedelta(seconds=1)
    return {"name": Path(name).name, "sensing_start": start.isoformat(), "sensing_stop": stop.isoformat()}


def _naive(value: str | dt.datetime) -> dt.datetime:
    """A time as a naive UTC datetime."""
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert(None) if stamp.tzinfo else stamp).to_pydatetime()


def pick_orbit(
    names: Sequence[str],
    platform: str,
    start: str | dt.datetime,
    stop: str | dt.datetime,
    margin_s: float,
    types: Sequence[str] = ("AUX_POEORB", "AUX_RESORB"),
) -> str | None:
    """The orbit file covering [start - margin, stop + margin]: first type preferred, newest production first."""
    first, last = _naive(start) - dt.timedelta(seconds=margin_s), _naive(stop) + dt.timedelta(seconds=margin_s)
    for kind in types:
        covering = []
        for name in names:
            try:
                info = parse_eof_name(name)
            except ValueError:
                continue
            covers = info["start"] <= first and info["stop"] >= last
            if info["type"] == kind and info["platform"] == platform and covers:
                covering.append((info["produced"], name))
        if covering:
            return max(covering)[1]
    return None


def orbit_filter(kind: str, platform: str, start: dt.datetime, stop: dt.datetime) -> str:
    """The OData $filter of orbit files of one type and platform valid over [start, stop]."""
    return " and ".join(
        [
            f"Collection/Name eq '{COLLECTIONS[kind]}'",
            attribute_filter("String", "productType", "eq", kind),
            f"startswith(Name,'{platform}_')",
            f"ContentDate/Start lt {start.strftime(ISO)}",
            f"ContentDate/End gt {stop.strftime(ISO)}",
        ]
    )


def find_orbit(client: CdseClient, item: Mapping, settings: Mapping) -> dict:
    """The catalogue entry of the orbit file of one Sentinel-1 catalog item (ProductError if none)."""
    platform = item["name"][:3]
    margin = dt.timedelta(seconds=float(settings["margin_s"]))
    first, last = _naive(item["sensing_start"]) - margin, _naive(item["sensing_stop"]) + margin
    for kind in settings["types"]:
        products = list(client.pages(orbit_filter(kind, platform, first, last)))
        by_name = {p["Name"]: p for p in products}
        chosen = pick_orbit(
            list(by_name), platform, item["sensing_start"], item["sensing_stop"], float(settings["margin_s"]), [kind]
        )
        if chosen:
            return by_name[chosen]
    raise ProductError(
        item["name"],
        f"no orbit file ({' or '.join(settings['types'])}) covers the product "
        f"with {settings['margin_s']} s margin in the CDSE catalogue",
    )


def fetch_orbit(client: CdseClient, item: Mapping, destination: str | Path, settings: Mapping) -> str:
    """Download the orbit file of one Sentinel-1 item and write its EOF to `destination`; returns the EOF name."""
    product = find_orbit(client, item, settings)
    row = catalog_row(product, "orbits", client.settings["download_url"])
    destination = Path(destination)
    workdir = destination.parent if destination.parent.exists() else None
    with tempfile.TemporaryDirectory(prefix="soilsat-orbit-", dir=workdir) as tmp:
        got = client.download(row, Path(tmp) / "orbit.download")
        eof_name, data = _eof_bytes(got, product["Name"])
    with atomic_path(destination) as out:
        out.write_bytes(data)
    log.info("orbit of %s: %s", item["name"], eof_name)
    return eof_name


def _eof_bytes(path: Path, name: str) -> tuple[str, bytes]:
    """The EOF inside a downloaded orbit product (a zip, or the bare EOF)."""
    if zipfile.is_zipfile(path):
        members = [m for m in check_members(path) if m.upper().endswith(".EOF")]
        if len(members) != 1:
            raise ProductError(name, f"expected one .EOF file in the orbit zip, found {len(members)}")
        with zipfile.ZipFile(path) as zf:
            data = zf.read(members[0])
        eof = Path(members[0]).name
    else:
        data, eof = path.read_bytes(), name
    if b"<Earth_Explorer_File" not in data[:2000]:
        raise ProductError(name, "downloaded orbit file is not an Earth Explorer (EOF) XML file")
    return eof, data


def _listing(content: bytes, where: str):
    """The root of an S3 ListObjectsV2 answer, parsed with DTDs and entities refused."""
    try:
        return ET.fromstring(content, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ProductError(
            where,
            f"bucket listing declares a DTD or entities ({type(exc).__name__}); refused, "
            "an S3 listing never does: check settings orbits.asf_url",
        ) from None
    except ET.ParseError as exc:
        raise ProductError(where, f"bucket listing is not XML ({exc}); check settings orbits.asf_url") from None


def asf_list(session: requests.Session, base_url: str, prefix: str, policy: RetryPolicy) -> list[str]:
    """Keys under a prefix of an S3 bucket (ListObjectsV2, following continuation tokens)."""
    keys, token = [], None
    while True:
        params = {"list-type": "2", "prefix": prefix}
        if token:
            params["continuation-token"] = token
        root = _listing(
            request(session, "GET", base_url.rstrip("/") + "/", policy, params=params).content,
            f"{base_url.rstrip('/')}/?prefix={prefix}",
        )
        ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
        keys += [k.text for k in root.iter(f"{ns}Key") if k.text]
        truncated = (root.findtext(f"{ns}IsTruncated") or "false").lower() == "true"
        token = root.findtext(f"{ns}NextContinuationToken")
        if not truncated or not token:
            return keys


def fetch_orbit_asf(
    item: Mapping, destination: str | Path, settings: Mapping, session: requests.Session | None = None
) -> str:
    """The orbit file of one Sentinel-1 item from ASF's public bucket (no credentials); returns the EOF name."""
    session = session or requests.Session()
    policy = RetryPolicy.from_config(settings["retries"])
    platform = item["name"][:3]
    for kind in settings["types"]:
        names = asf_list(session, settings["asf_url"], f"{kind}/{platform}_OPER_{kind}_OPOD_", policy)
        log.info("ASF lists %d %s files of %s", len(names), kind, platform)
        by_name = {Path(k).name: k for k in names}
        chosen = pick_orbit(
            list(by_name), platform, item["sensing_start"], item["sensing_stop"], float(settings["margin_s"]), [kind]
        )
        if chosen:
            url = f"{settings['asf_url'].rstrip('/')}/{by_name[chosen]}"
            destination = Path(destination)
            with tempfile.TemporaryDirectory(prefix="soilsat-orbit-") as tmp:
                got = download(session, url, Path(tmp) / chosen, policy)
                eof_name, data = _eof_bytes(got, chosen)
            with atomic_path(destination) as out:
                out.write_bytes(data)
            log.info("orbit of %s: %s (ASF)", item["name"], eof_name)
            return eof_name
    raise ProductError(
        item["name"],
        f"no orbit file ({' or '.join(settings['types'])}) covers the product "
        f"with {settings['margin_s']} s margin in the ASF bucket",
    )
