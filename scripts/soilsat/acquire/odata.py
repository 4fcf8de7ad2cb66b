"""The OData query language of the CDSE catalogue: product filters, and catalog rows from its answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from soilsat.errors import ConfigError

COLLECTIONS = {
    "IW_GRDH_1S": "SENTINEL-1",
    "AUX_POEORB": "SENTINEL-1",
    "AUX_RESORB": "SENTINEL-1",
    "S2MSI1C": "SENTINEL-2",
    "S2MSI2A": "SENTINEL-2",
}
ISO = "%Y-%m-%dT%H:%M:%S.000Z"


def _wkt(ring: Sequence[tuple[float, float]]) -> str:
    return "POLYGON((" + ",".join(f"{x:.6f} {y:.6f}" for x, y in ring) + "))"


def attribute_filter(kind: str, name: str, op: str, value: object) -> str:
    """The condition on one product attribute (`kind` String, Integer or Double), e.g. productType eq 'IW_GRDH_1S'."""
    literal = f"'{value}'" if kind == "String" else (f"{value:.2f}" if kind == "Double" else f"{value}")
    return (
        f"Attributes/OData.CSC.{kind}Attribute/any(att:att/Name eq '{name}' and "
        f"att/OData.CSC.{kind}Attribute/Value {op} {literal})"
    )


def odata_filter(
    product_type: str,
    start: dt.datetime,
    end: dt.datetime,
    ring: Sequence[tuple[float, float]] | None = None,
    orbit_direction: str | None = None,
    relative_orbits: Sequence[int] | None = None,
    cloud_cover_max: float | None = None,
    name_prefix: str | None = None,
) -> str:
    """The $filter of a product search: collection, type, sensing start in [start, end), AOI, orbit, clouds."""
    if product_type not in COLLECTIONS:
        raise ConfigError(f"CDSE product type {product_type!r} is not one of {sorted(COLLECTIONS)}")
    parts = [
        f"Collection/Name eq '{COLLECTIONS[product_type]}'",
        attribute_filter("String", "productType", "eq", product_type),
        f"ContentDate/Start ge {start.strftime(ISO)}",
        f"ContentDate/Start lt {end.strftime(ISO)}",
    ]
    if ring is not None:
        parts.append(f"OData.CSC.Intersects(area=geography'SRID=4326;{_wkt(ring)}')")
    if orbit_direction:
        parts.append(attribute_filter("String", "orbitDirection", "eq", orbit_direction.upper()))
    if relative_orbits:
        orbits = " or ".join(attribute_filter("Integer", "relativeOrbitNumber", "eq", int(o)) for o in relative_orbits)
        parts.append(f"({orbits})")
    if cloud_cover_max is not None and product_type.startswith("S2"):
        parts.append(attribute_filter("Double", "cloudCover", "le", float(cloud_cover_max)))
    if name_prefix:
        parts.append(f"startswith(Name,'{name_prefix}')")
    return " and ".join(parts)


def _footprint(text: str | None) -> str:
    """WKT of an OData Footprint ("geography'SRID=4326;POLYGON ((...))'")."""
    if not text:
        return ""
    body = text.split(";", 1)[-1] if "SRID=" in text else text
    return body.rstrip("'")


def catalog_row(product: Mapping, source: str, download_url: str) -> dict[str, object]:
    """One catalog row from one OData product (its Attributes expanded)."""
    attrs = {a["Name"]: a["Value"] for a in product.get("Attributes") or []}
    md5 = next((c["Value"] for c in product.get("Checksum") or [] if c.get("Algorithm") == "MD5"), "")
    platform = attrs.get("platformShortName", "")
    serial = attrs.get("platformSerialIdentifier", "")
    short = f"S{platform.split('-')[-1]}{serial}" if platform.startswith("SENTINEL-") else platform
    name = product["Name"]
    for suffix in (".SAFE", ".zip", ".EOF"):
        name = name.removesuffix(suffix)
    return {
        "name": name,
        "source": source,
        "product_type": attrs.get("productType", ""),
        "platform": short,
        "sensing_start": product["ContentDate"]["Start"],
        "sensing_stop": product["ContentDate"]["End"],
        "orbit_direction": attrs.get("orbitDirection", ""),
        "relative_orbit": attrs.get("relativeOrbitNumber"),
        "absolute_orbit": attrs.get("orbitNumber"),
        "tile": attrs.get("tileId", ""),
        "processing_baseline": attrs.get("processingBaseline", attrs.get("processorVersion", "")),
        "cloud_cover": attrs.get("cloudCover"),
        "footprint_wkt": _footprint(product.get("Footprint")),
        "size": product.get("ContentLength"),
        "checksum": md5,
        "href": f"{download_url.rstrip('/')}/Products({product['Id']})/$value",
    }
