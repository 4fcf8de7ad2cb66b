"""STAC Items of soilsat's Sentinel-1 and Sentinel-2 output COGs, written beside them.

An Item (STAC 1.0.0) describes one output COG, read back from the file itself: its grid (``proj``),
its bands (``raster:bands`` with data type, no-data and unit, ``eo:bands`` with each band's name and
description, so that odc-stac and stackstac load a band by name), its tags (product, orbit, sensing
times) and, for Sentinel-1, the SNAP graph that made it (speckle filter, radiometry, resampling).

* Sentinel-1: ``sar`` (mode, band, polarisations, product type, spacing, looks), ``sat`` (orbit state,
  relative and absolute orbit), ``ceos-ard`` (radar, NRB, Combined SAR 1.0: the product family the
  chain follows; the measurement is RTC gamma0 as NRB asks only with ``sentinel1.radiometry: gamma0``,
  which ``description`` and ``soilsat:radiometry`` say), with a ``derived_from`` link to the source
  product and the graph as an asset.
* Sentinel-2: ``eo`` (bands with common names and centre wavelengths), ``sat`` (relative orbit),
  ``ceos-ard`` (optical, Surface Reflectance 5.0, as ESA assesses Level-2A).

Both carry ``proj`` and ``raster``. Every Item is validated against the vendored schemas
(:mod:`soilsat.stac.validation`) before it is written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import rasterio

from soilsat.io import atomic_path
from soilsat.sar.bands import ard_role, radiometry_of
from soilsat.stac.validation import validate

STAC_VERSION = "1.0.0"
EXTENSIONS = {
    "sar": "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
    "sat": "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "proj": "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "raster": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "eo": "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "ceos-ard": "https://stac-extensions.github.io/ceos-ard/v0.2.0/schema.json",
}
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
CEOS_SAR = "https://ceos.org/ard/files/PFS/SAR/v1.0/CEOS-ARD_PFS_Synthetic_Aperture_Radar_v1.0.pdf"
CEOS_SR = "https://ceos.org/ard/files/PFS/SR/v5.0/CARD4L_Product_Family_Specification_Surface_Reflectance-v5.0.pdf"
SENTINEL_LICENCE = "https://sentinels.copernicus.eu/documents/247904/690755/Sentinel_Data_Legal_Notice"
S1_NAME = re.compile(
    r"^(?P<mission>S1[A-D])_(?P<mode>[A-Z0-9]{2})_(?P<type>[A-Z]{3})(?P<res>[FHM_])_\d[SA](?P<pol>[A-Z]{2})_"
    r"(?P<start>\d{8}T\d{6})_(?P<stop>\d{8}T\d{6})_(?P<orbit>\d{6})_"
)
S2_NAME = re.compile(r"^(?P<mission>S2[A-D])_MSIL2A_(?P<start>\d{8}T\d{6})_N\d{4}_R(?P<orbit>\d{3})_T(?P<tile>\w{5})_")
S1_POLARISATIONS = {"SV": ["VV"], "SH": ["HH"], "DV": ["VV", "VH"], "DH": ["HH", "HV"]}
# IW GRDH: ESA's product definition (resolution 20 x 22 m, 10 m pixels, 5 x 1 looks); EW GRDM 93 x 87 m, 40 m, 6 x 2
S1_SAR = {
    "IW": {"resolution": (20.0, 22.0), "spacing": (10.0, 10.0), "looks": (5, 1)},
    "EW": {"resolution": (93.0, 87.0), "spacing": (40.0, 40.0), "looks": (6, 2)},
}
S1_CENTRE_FREQUENCY_GHZ = 5.405
MEASUREMENTS = {
    "gamma0": "radiometrically terrain-corrected: the CEOS-ARD NRB measurement",
    "sigma0": "ellipsoid-based: not the RTC gamma0 CEOS-ARD NRB asks for",
}
# Sentinel-2 MSI bands: common name and centre wavelength (micrometres), as the eo extension spells them
S2_BANDS = {
    "B01": ("coastal", 0.443),
    "B02": ("blue", 0.490),
    "B03": ("green", 0.560),
    "B04": ("red", 0.665),
    "B05": ("rededge", 0.705),
    "B06": ("rededge", 0.740),
    "B07": ("rededge", 0.783),
    "B08": ("nir", 0.842),
    "B8A": ("nir08", 0.865),
    "B09": ("nir09", 0.945),
    "B11": ("swir16", 1.610),
    "B12": ("swir22", 2.190),
}


def _iso(stamp: str) -> str:
    """An ESA compact time (20200403T172411) or an ISO time as STAC's RFC 3339 UTC."""
    if re.fullmatch(r"\d{8}T\d{6}", stamp):
        return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S").strftime("%Y-%m-%dT%H:%M:%SZ")
    parsed = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _relative(target: str | os.PathLike, item_path: Path) -> str:
    """An href from the Item's folder to `target`."""
    return os.path.relpath(Path(target).resolve(), item_path.resolve().parent)


def raster_facts(path: str | os.PathLike) -> dict[str, Any]:
    """What an Item needs of a COG: grid (EPSG, shape, transform, native and WGS 84 bounds), bands and tags."""
    with rasterio.open(path) as src:
        crs = pyproj.CRS.from_user_input(src.crs.to_wkt())
        bounds = src.bounds
        bands = []
        for k, name in enumerate(src.descriptions, start=1):
            tags = src.tags(k)
            bands.append(
                {
                    "name": name or f"band{k}",
                    "units": tags.get("units"),
                    "long_name": tags.get("long_name"),
                    "description": tags.get("description"),
                    "dtype": src.dtypes[k - 1],
                    "nodata": src.nodatavals[k - 1],
                }
            )
        facts = {
            "epsg": crs.to_epsg(),
            "wkt2": crs.to_wkt(),
            "shape": [src.height, src.width],
            "transform": list(src.transform)[:6],
            "bbox": [bounds.left, bounds.bottom, bounds.right, bounds.top],
            "bands": bands,
            "tags": src.tags(),
        }
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    left, bottom, right, top = facts["bbox"]
    w, s, e, n = to_lonlat.transform_bounds(left, bottom, right, top, densify_pts=21)
    facts["lonlat_bbox"] = [w, s, e, n]
    return facts


def _geometry(bbox: list[float]) -> dict[str, Any]:
    """The WGS 84 polygon of a lon/lat bounding box."""
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _nodata(value: float | None) -> float | str | None:
    """A no-data value as the raster extension writes it ('nan' for NaN)."""
    if value is None:
        return None
    return "nan" if np.isnan(value) else float(value)


def _raster_bands(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """raster:bands of the COG's bands: data type, no-data and unit."""
    out = []
    for band in facts["bands"]:
        entry: dict[str, Any] = {"data_type": band["dtype"]}
        nodata = _nodata(band["nodata"])
        if nodata is not None:
            entry["nodata"] = nodata
        if band["units"]:
            entry["unit"] = band["units"]
        out.append(entry)
    return out


def _eo_bands(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """eo:bands naming each band (with common names and wavelengths for Sentinel-2 reflectance)."""
    out = []
    for band in facts["bands"]:
        entry: dict[str, Any] = {"name": band["name"]}
        text = band["description"] or band["long_name"]
        if text:
            entry["description"] = text
        if band["name"] in S2_BANDS:
            entry["common_name"], entry["center_wavelength"] = S2_BANDS[band["name"]]
        out.append(entry)
    return out


def _proj(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The projection extension's fields."""
    return {
        "proj:epsg": facts["epsg"],
        "proj:shape": facts["shape"],
        "proj:transform": facts["transform"],
        "proj:bbox": facts["bbox"],
    }


def _base(item_id: str, facts: Mapping[str, Any], properties: dict[str, Any], extensions: list[str]) -> dict:
    """An Item's frame: geometry and bbox in WGS 84, the extensions' schema URLs, properties with proj fields."""
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [EXTENSIONS[k] for k in extensions],
        "id": item_id,
        "geometry": _geometry(facts["lonlat_bbox"]),
        "bbox": facts["lonlat_bbox"],
        "properties": {**properties, **_proj(facts)},
        "links": [],
        "assets": {},
    }


def _data_asset(raster: Path, item_path: Path, facts: Mapping[str, Any], title: str, roles: list[str]) -> dict:
    """The COG as the Item's data asset, its bands named and typed."""
    return {
        "href": _relative(raster, item_path),
        "type": COG_TYPE,
        "title": title,
        "roles": roles,
        "raster:bands": _raster_bands(facts),
        "eo:bands": _eo_bands(facts),
    }


def _speckle_text(speckle: Mapping[str, str]) -> str:
    """The graph's speckle filter in words ('' without one)."""
    if not speckle:
        return ""
    return (
        f"{speckle.get('filter', '')} {speckle.get('windowSize', '')}, "
        f"target {speckle.get('targetWindowSizeStr', '')}, "
        f"sigma {speckle.get('sigmaStr', '')}, looks {speckle.get('numLooksStr', '')}"
    )


def _graph_settings(graph_xml: str) -> dict[str, dict[str, str]]:
    """The graph's parameters by operator (empty when it does not parse)."""
    from soilsat.sar import graph

    try:
        return {n.operator: n.parameters for n in graph.parse_graph(graph_xml)}
    except Exception:  # a graph soilsat cannot read gives no processing details, not a failure
        return {}


def sentinel1_item(
    raster: str | os.PathLike,
    item_path: str | os.PathLike,
    graph_path: str | os.PathLike | None = None,
    source: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The STAC Item of a Sentinel-1 output COG at `item_path` (hrefs relative to it), validated."""
    raster, item_path = Path(raster), Path(item_path)
    facts = raster_facts(raster)
    tags = facts["tags"]
    name = tags.get("product", raster.stem)
    m = S1_NAME.match(name)
    if m is None:
        raise ValueError(f"{raster}: tag product {name!r} is not a Sentinel-1 product name")
    mode = m["mode"]
    sar = S1_SAR.get(mode, S1_SAR["IW"])
    names = [b["name"] for b in facts["bands"]]
    radiometry = tags.get("radiometry") or radiometry_of(names)
    nodes = _graph_settings(Path(graph_path).read_text(encoding="utf-8")) if graph_path else {}
    speckle = nodes.get("Speckle-Filter", {})
    region = tags.get("region", raster.parent.name)
    properties: dict[str, Any] = {
        "datetime": _iso(tags.get("sensing_start", m["start"])),
        "start_datetime": _iso(m["start"]),
        "end_datetime": _iso(m["stop"]),
        "title": f"{name} on the {region} study grid ({radiometry})",
        "description": (
            f"Sentinel-1 {radiometry} ({MEASUREMENTS[radiometry]}), terrain-corrected onto the {region} study grid "
            f"by soilsat (engine {tags.get('engine', 'builtin')}). "
            f"{tags.get('attribution', 'Contains modified Copernicus Sentinel data')}."
        ),
        "platform": f"sentinel-{m['mission'][1:].lower()}",
        "constellation": "sentinel-1",
        "instruments": ["c-sar"],
        "gsd": abs(facts["transform"][0]),
        "sar:instrument_mode": mode,
        "sar:frequency_band": "C",
        "sar:center_frequency": S1_CENTRE_FREQUENCY_GHZ,
        "sar:polarizations": S1_POLARISATIONS.get(
            m["pol"], [p for p in ("VV", "VH", "HH", "HV") if f"_{p}" in str(names)]
        ),
        "sar:product_type": m["type"],
        "sar:resolution_range": sar["resolution"][0],
        "sar:resolution_azimuth": sar["resolution"][1],
        "sar:pixel_spacing_range": sar["spacing"][0],
        "sar:pixel_spacing_azimuth": sar["spacing"][1],
        "sar:looks_range": sar["looks"][0],
        "sar:looks_azimuth": sar["looks"][1],
        "sar:observation_direction": "right",
        "sat:orbit_state": str(tags.get("orbit_direction", "")).lower() or "ascending",
        "sat:absolute_orbit": int(tags.get("absolute_orbit", m["orbit"])),
        "ceosard:type": "radar",
        "ceosard:specification": "NRB",
        "ceosard:specification_version": "1.0",
        "soilsat:radiometry": radiometry,
        "soilsat:engine": tags.get("engine", "builtin"),
        "soilsat:graph_hash": tags.get("graph_hash", ""),
        "soilsat:speckle_filter": _speckle_text(speckle),
        "soilsat:region": region,
    }
    if tags.get("relative_orbit"):
        properties["sat:relative_orbit"] = int(tags["relative_orbit"])
    if tags.get("ipf_version"):
        properties["soilsat:ipf_version"] = tags["ipf_version"]
    item = _base(f"{name}_{region}", facts, properties, ["sar", "sat", "proj", "raster", "eo", "ceos-ard"])
    roles = list(dict.fromkeys(["data", "backscatter"] + [r for r in (ard_role(n) for n in names) if r]))
    item["assets"]["data"] = _data_asset(raster, item_path, facts, f"{radiometry} and CEOS-ARD layers", roles)
    if graph_path:
        item["assets"]["graph"] = {
            "href": _relative(graph_path, item_path),
            "type": "application/xml",
            "title": "SNAP graph of the processing chain",
            "roles": ["metadata", "processing"],
        }
    item["links"] = _links(item_path, source, CEOS_SAR)
    validate(item, str(item_path))
    return item


def sentinel2_item(
    raster: str | os.PathLike, item_path: str | os.PathLike, source: str | os.PathLike | None = None
) -> dict[str, Any]:
    """The STAC Item of a Sentinel-2 output COG at `item_path` (hrefs relative to it), validated."""
    raster, item_path = Path(raster), Path(item_path)
    facts = raster_facts(raster)
    tags = facts["tags"]
    name = tags.get("product", raster.stem)
    m = S2_NAME.match(name)
    if m is None:
        raise ValueError(f"{raster}: tag product {name!r} is not a Sentinel-2 Level-2A product name")
    region = tags.get("region", raster.parent.name)
    properties: dict[str, Any] = {
        "datetime": _iso(tags.get("sensing_time", m["start"])),
        "title": f"{name} on the {region} study grid",
        "description": (
            f"Sentinel-2 Level-2A surface reflectance (baseline {tags.get('baseline', 'n/a')}), masked and resampled "
            f"onto the {region} study grid by soilsat, with indices. "
            f"{tags.get('attribution', 'Contains modified Copernicus Sentinel data')}."
        ),
        "platform": f"sentinel-{m['mission'][1:].lower()}",
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "gsd": abs(facts["transform"][0]),
        "sat:relative_orbit": int(m["orbit"]),
        "ceosard:type": "optical",
        "ceosard:specification": "SR",
        "ceosard:specification_version": "5.0",
        "soilsat:region": region,
        "soilsat:tile": m["tile"],
    }
    if tags.get("valid_fraction"):
        properties["soilsat:valid_fraction"] = float(tags["valid_fraction"])
    item = _base(f"{name}_{region}", facts, properties, ["eo", "sat", "proj", "raster", "ceos-ard"])
    item["assets"]["data"] = _data_asset(
        raster, item_path, facts, "surface reflectance, indices and masks", ["data", "reflectance"]
    )
    item["links"] = _links(item_path, source, CEOS_SR)
    validate(item, str(item_path))
    return item


def _links(item_path: Path, source: str | os.PathLike | None, specification: str) -> list[dict[str, str]]:
    """The CEOS-ARD specification, the Sentinel data licence and the source product (derived_from)."""
    links = [
        {"rel": "ceos-ard-specification", "href": specification, "type": "application/pdf"},
        {"rel": "license", "href": SENTINEL_LICENCE, "title": "Legal notice on the use of Copernicus Sentinel data"},
    ]
    if source is not None:
        links.append({"rel": "derived_from", "href": _relative(source, item_path), "title": Path(source).name})
    return links


def write_item(item: dict[str, Any], path: str | os.PathLike) -> None:
    """Write an Item as JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(item, indent=1) + "\n", encoding="utf-8")
