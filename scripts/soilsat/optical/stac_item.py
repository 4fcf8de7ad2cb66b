"""A Sentinel-2 L2A STAC item as the SAFE reader's Product: its band, SCL and probability-mask files (GDAL paths
of the assets' hrefs) and the harmonisation its metadata states, so the SAFE route's reading, offsets and masks
(soilsat.optical.safe, soilsat.optical.process) serve catalogue items unchanged.

Assets are found by the names the two catalogues give them: CDSE's SAFE-like keys (B04_10m, SCL_20m,
CLD_20m / SNW_20m), the SAFE mask names (MSK_CLDPRB_20m) and Earth Search's common names (red,
nir08, scl). The harmonisation is taken from each item, first match wins:
  1. `earthsearch:boa_offset_applied: true` (Earth Search collection 1): the stored numbers are
     already harmonised, offset 0;
  2. the assets' `raster:bands` scale and offset (reflectance = DN x scale + offset);
  3. the processing baseline (`s2:processing_baseline`, `processing:version`): offset -1000 from
     04.00 on, 0 before, quantification 10000 (as the SAFE metadata state them).
An item that states none of them is refused with its id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from soilsat.errors import ProductError
from soilsat.optical.safe import BAND_IDS, NATIVE_RESOLUTION, Product
from soilsat.remote_files import gdal_path

log = logging.getLogger(__name__)

QUANTIFICATION = 10000.0  # the L2A BOA quantification value of every baseline
BASELINE_OFFSET = -1000.0  # BOA_ADD_OFFSET of every band from processing baseline 04.00 on
OFFSET_BASELINE = 4.0
# Earth Search's asset keys (common names) of the SAFE band names
COMMON_NAMES = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B09": "nir09",
    "B11": "swir16",
    "B12": "swir22",
    "SCL": "scl",
    "AOT": "aot",
    "WVP": "wvp",
}
MASK_KEYS = {
    "MSK_CLDPRB_20m": ("MSK_CLDPRB_20m", "CLD_20m"),
    "MSK_SNWPRB_20m": ("MSK_SNWPRB_20m", "SNW_20m"),
}
BASELINE_KEYS = ("s2:processing_baseline", "processing:version", "processingBaseline")
PRODUCT_TYPE_KEYS = ("s2:product_type", "product:type", "productType")
TILE_KEYS = ("s2:mgrs_tile", "grid:code", "tileId", "mgrs:tile")


def item_name(item: Mapping) -> str:
    """How errors name an item: 'STAC item <id> (<collection>)'."""
    return f"STAC item {item.get('id', '?')}" + (f" ({item['collection']})" if item.get("collection") else "")


def band_assets(item: Mapping, band: str) -> dict[int, str]:
    """The asset key of a band at each resolution (m) the item holds it, by CDSE or Earth Search naming."""
    assets = item.get("assets") or {}
    out: dict[int, str] = {}
    for res in (10, 20, 60):
        if f"{band}_{res}m" in assets:
            out[res] = f"{band}_{res}m"
    for key in (band, COMMON_NAMES.get(band)):
        if key and key in assets and NATIVE_RESOLUTION.get(band, 10) not in out:
            out[NATIVE_RESOLUTION.get(band, 10)] = key
    return out


def _first(properties: Mapping, keys: tuple[str, ...]) -> str | None:
    """The first of these properties the item has, as text."""
    for key in keys:
        if properties.get(key) not in (None, ""):
            return str(properties[key])
    return None


def _raster_scaling(item: Mapping, keys: list[str]) -> tuple[float, float] | None:
    """(scale, offset) of the reflectance assets' raster:bands, None if they give none; ProductError if they differ."""
    found = set()
    for key in keys:
        bands = item["assets"][key].get("raster:bands") or []
        if bands and ("scale" in bands[0] or "offset" in bands[0]):
            found.add((float(bands[0].get("scale", 1.0)), float(bands[0].get("offset", 0.0))))
    if len(found) > 1:
        raise ProductError(item_name(item), f"its bands' raster:bands scale and offset differ ({sorted(found)})")
    return found.pop() if found else None


def harmonisation(item: Mapping, keys: list[str]) -> tuple[float, float, str]:
    """(quantification, offset in stored numbers, where they come from) of an item's reflectance assets `keys`."""
    properties = item.get("properties") or {}
    scaling = _raster_scaling(item, keys)
    if properties.get("earthsearch:boa_offset_applied") is True:
        scale = QUANTIFICATION if scaling is None else 1.0 / scaling[0]
        if scaling is not None and scaling[1] != 0.0:
            log.info("%s: boa_offset_applied, so raster:bands offset %g is not applied", item_name(item), scaling[1])
        return scale, 0.0, "earthsearch:boa_offset_applied"
    if scaling is not None:
        scale, offset = scaling
        if scale <= 0:
            raise ProductError(item_name(item), f"raster:bands scale {scale} is not positive")
        return 1.0 / scale, offset / scale, "raster:bands"
    baseline = _first(properties, BASELINE_KEYS)
    if baseline is None:
        raise ProductError(
            item_name(item),
            "states neither earthsearch:boa_offset_applied, raster:bands scale/offset nor a processing baseline "
            f"({', '.join(BASELINE_KEYS)}): its reflectance offset is unknown",
        )
    try:
        number = float(baseline)
    except ValueError:
        raise ProductError(item_name(item), f"processing baseline {baseline!r} is not a number") from None
    return QUANTIFICATION, (BASELINE_OFFSET if number >= OFFSET_BASELINE else 0.0), f"processing baseline {baseline}"


def _level(item: Mapping) -> str:
    """L2A or L1C, from the product type if the item states it, else from whether it has a scene classification."""
    kind = _first(item.get("properties") or {}, PRODUCT_TYPE_KEYS)
    if kind is not None:
        return "L2A" if "2A" in kind.upper() else "L1C"
    return "L2A" if band_assets(item, "SCL") else "L1C"


def item_product(item: Mapping) -> tuple[Product, dict[str, str]]:
    """The Product of an L2A item and the asset key of each of its GDAL paths (for error messages)."""
    name = item_name(item)
    assets = item.get("assets") or {}
    properties = item.get("properties") or {}
    band_files: dict[tuple[str, int], str] = {}
    keys: dict[str, str] = {}
    for band in (*BAND_IDS, "SCL", "AOT", "WVP"):
        for res, key in band_assets(item, band).items():
            href = assets[key].get("href")
            if not href:
                raise ProductError(name, f"asset {key} has no href")
            band_files[(band, res)] = gdal_path(href)
            keys[band_files[(band, res)]] = key
    if not band_files:
        raise ProductError(name, "has no Sentinel-2 band assets (B04_10m, red, ...)")
    mask_files: dict[str, str] = {}
    for mask, candidates in MASK_KEYS.items():
        found = next((k for k in candidates if k in assets and assets[k].get("href")), None)
        if found is not None:
            mask_files[mask] = gdal_path(assets[found]["href"])
            keys[mask_files[mask]] = found
    reflectance = [keys[p] for (b, _), p in band_files.items() if b in BAND_IDS]
    quantification, offset, source = harmonisation(item, reflectance)
    log.debug("%s: quantification %g, offset %g (%s)", name, quantification, offset, source)
    product = Product(
        path=name,
        root=str(item.get("id", "")),
        mtd=name,
        level=_level(item),
        baseline=_first(properties, BASELINE_KEYS) or "",
        tile=(_first(properties, TILE_KEYS) or "").removeprefix("MGRS-"),
        sensing_time=str(properties.get("datetime", "")),
        spacecraft=str(properties.get("platform", "")),
        quantification=quantification,
        offsets={b: offset for b in BAND_IDS},
        band_files=band_files,
        mask_files=mask_files,
        members=None,
    )
    return product, keys
