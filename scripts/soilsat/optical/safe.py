"""Reading Sentinel-2 L2A (and L1C) SAFE products, as folders or as zips, of any baseline.

The product metadata (MTD_MSIL2A.xml / MTD_MSIL1C.xml, or the older S2x_OPER_MTD_SAFL2A_*
names) gives the band files, the quantification value and, from processing baseline
04.00 on, the radiometric offsets: reflectance = (DN + offset) / quantification. DN 0 is
no data. Every failure to read a product raises ProductError naming the file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element

import numpy as np
import rasterio
import xarray as xr
from affine import Affine
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from rasterio.errors import RasterioError

from soilsat.errors import ProductError

# ESA band_id (0..12) to band name.
BAND_IDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
NATIVE_RESOLUTION = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
                     "B08": 10, "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20,
                     "SCL": 20, "AOT": 10, "WVP": 10, "TCI": 10}
MASKS = ("MSK_CLDPRB_20m", "MSK_SNWPRB_20m", "MSK_CLDPRB_60m", "MSK_SNWPRB_60m")
_MTD = re.compile(r"(^|/)(MTD_MSIL(1C|2A)\.xml|S2[ABCD]_OPER_MTD_SAFL(1C|2A)_[^/]*\.xml)$")
_BAND_FILE = re.compile(r"_(B\d{2}|B8A|SCL|AOT|WVP|TCI)(?:_(\d{2})m)?$")
_TILE = re.compile(r"_T(\d{2}[C-X][A-Z]{2})_")


@dataclasses.dataclass(frozen=True)
class Product:
    """What the metadata of one Sentinel-2 product says, and where its files are."""

    path: str
    root: str
    mtd: str
    level: str
    baseline: str
    tile: str
    sensing_time: str
    spacecraft: str
    quantification: float
    offsets: dict[str, float]
    band_files: dict[tuple[str, int], str]
    mask_files: dict[str, str]
    members: frozenset[str] | None

    @property
    def baseline_number(self) -> float:
        """The processing baseline as a number, e.g. 4.0 for '04.00'."""
        return _baseline_number(self.baseline)

    def resolutions(self, band: str) -> list[int]:
        """Resolutions (m) at which a band is stored, finest first."""
        return sorted(r for (b, r) in self.band_files if b == band)


def _baseline_number(text: str) -> float:
    """'04.00' -> 4.0; unparseable text counts as 0."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def _local(tag: str) -> str:
    """An XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _find_all(root: Element, name: str) -> list[Element]:
    """All descendants with a given local name, in document order."""
    return [e for e in root.iter() if _local(e.tag) == name]


def _text(root: Element, *names: str) -> str | None:
    """Stripped text of the first descendant with any of the given local names."""
    for name in names:
        for e in _find_all(root, name):
            if e.text and e.text.strip():
                return e.text.strip()
    return None


def _locate(path: str | os.PathLike) -> tuple[str, str, str, frozenset[str] | None, bytes]:
    """(GDAL root of the SAFE, MTD path for messages, MTD member, zip members, MTD bytes)."""
    p = Path(path)
    if not p.exists():
        raise ProductError(p, "no such file or folder")
    if p.is_file() and p.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(p) as z:
                members = frozenset(z.namelist())
                mtds = sorted(m for m in members if _MTD.search(m) and m.count("/") == 1)
                if not mtds:
                    raise ProductError(p, "no product metadata (MTD_MSIL2A.xml / MTD_MSIL1C.xml) in the zip")
                data = z.read(mtds[0])
        except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as e:
            raise ProductError(p, f"unreadable or truncated zip ({e})") from None
        safe = mtds[0].split("/")[0]
        return f"/vsizip/{p.resolve()}/{safe}", f"{p}/{mtds[0]}", mtds[0], members, data
    if p.is_file():
        if not _MTD.search(p.name):
            raise ProductError(p, "neither a SAFE folder, a zip nor a Sentinel-2 product metadata file")
        safe_dir = p.parent
        mtd = p
    else:
        safe_dir = p
        found = sorted(f for f in p.iterdir() if _MTD.search(f.name))
        inner = sorted(f for f in p.iterdir() if f.is_dir() and f.name.endswith(".SAFE"))
        if not found and len(inner) == 1:
            # A folder holding one SAFE, as the Sen2Cor rule leaves it.
            safe_dir = inner[0]
            found = sorted(f for f in safe_dir.iterdir() if _MTD.search(f.name))
        if not found:
            raise ProductError(safe_dir / "MTD_MSIL2A.xml", "product metadata missing from the SAFE folder")
        mtd = found[0]
    try:
        data = mtd.read_bytes()
    except OSError as e:
        raise ProductError(mtd, f"unreadable ({e.strerror})") from None
    return str(safe_dir.resolve()), str(mtd), mtd.name, None, data


def _parse(data: bytes, where: str) -> Element:
    """Parse XML with entity expansion, DTDs and network access refused."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as e:
        raise ProductError(where, f"XML declares a DTD or entities ({type(e).__name__}: external entities or "
                                  "entity expansion), which Sentinel-2 metadata never does; refused. The file is "
                                  "not ESA's: download the product again") from None
    except Exception as e:  # defusedxml and expat errors share no base class
        raise ProductError(where, f"invalid XML ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None


def read_metadata(path: str | os.PathLike) -> Product:
    """Parse a product's metadata: level, baseline, tile, time, quantification, offsets, files."""
    root_dir, mtd_where, mtd_member, members, data = _locate(path)
    root = _parse(data, mtd_where)
    top = _local(root.tag)
    level = "L2A" if "2A" in top or "MSIL2A" in mtd_member or "SAFL2A" in mtd_member else "L1C"
    baseline = _text(root, "PROCESSING_BASELINE") or "00.00"
    sensing = _text(root, "PRODUCT_START_TIME", "DATATAKE_SENSING_START")
    if sensing is None:
        raise ProductError(mtd_where, "no PRODUCT_START_TIME in the product metadata")
    spacecraft = _text(root, "SPACECRAFT_NAME") or ""
    if level == "L2A":
        q = _text(root, "BOA_QUANTIFICATION_VALUE", "L2A_BOA_QUANTIFICATION_VALUE", "QUANTIFICATION_VALUE")
        offset_tag = "BOA_ADD_OFFSET"
    else:
        q = _text(root, "QUANTIFICATION_VALUE")
        offset_tag = "RADIO_ADD_OFFSET"
    if q is None:
        raise ProductError(mtd_where, "no quantification value in the product metadata")
    offsets = {b: 0.0 for b in BAND_IDS}
    found = _find_all(root, offset_tag)
    for e in found:
        try:
            offsets[BAND_IDS[int(e.get("band_id", "-1"))]] = float(e.text)
        except (IndexError, TypeError, ValueError):
            raise ProductError(mtd_where, f"malformed {offset_tag} entry {e.attrib}") from None
    if not found and _baseline_number(baseline) >= 4.0:
        raise ProductError(mtd_where, f"processing baseline {baseline} (>= 04.00) but no {offset_tag} values")
    band_files: dict[tuple[str, int], str] = {}
    image_files = _find_all(root, "IMAGE_FILE") + _find_all(root, "IMAGE_FILE_2A")
    for e in image_files:
        rel = (e.text or "").strip()
        m = _BAND_FILE.search(rel)
        if not m:
            continue
        band = m.group(1)
        res = int(m.group(2)) if m.group(2) else NATIVE_RESOLUTION.get(band, 10)
        band_files[(band, res)] = f"{root_dir}/{rel}.jp2"
    if not band_files:
        raise ProductError(mtd_where, "no band files (IMAGE_FILE) listed in the product metadata")
    tile_m = _TILE.search(next(iter(band_files.values())).rsplit("/", 1)[-1] + "_") or _TILE.search(mtd_where)
    tile = tile_m.group(1) if tile_m else ""
    masks: dict[str, str] = {}
    granules = sorted({f.split("/GRANULE/")[1].split("/")[0] for f in band_files.values() if "/GRANULE/" in f})
    for g in granules:
        for name in MASKS:
            masks[name] = f"{root_dir}/GRANULE/{g}/QI_DATA/{name}.jp2"
    return Product(path=str(path), root=root_dir, mtd=mtd_where, level=level, baseline=baseline, tile=tile,
                   sensing_time=sensing, spacecraft=spacecraft, quantification=float(q), offsets=offsets,
                   band_files=band_files, mask_files=masks, members=members)


def _display(product: Product, gdal_path: str) -> str:
    """A file path as the user knows it (zip path plus member, or plain path)."""
    if gdal_path.startswith("/vsizip/"):
        return gdal_path[len("/vsizip/"):]
    return gdal_path


def _check_exists(product: Product, gdal_path: str) -> None:
    """Raise ProductError when a listed file is not in the product."""
    if product.members is not None:
        member = gdal_path.split(".zip/", 1)[1] if ".zip/" in gdal_path else gdal_path
        if member not in product.members:
            raise ProductError(_display(product, gdal_path), "file listed in the product metadata is missing")
    elif not Path(gdal_path).exists():
        raise ProductError(gdal_path, "file listed in the product metadata is missing")


class _GdalWarnings(logging.Handler):
    """Collects the warnings GDAL reports through rasterio while a file is decoded."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _read_raster(product: Product, gdal_path: str) -> tuple[np.ndarray, Affine, str]:
    """Read band 1 of a JP2 with its geotransform and CRS, as ProductError on any failure.

    A JPEG 2000 decoder meets a damaged codestream with a warning and returns garbage, so
    any GDAL warning while decoding counts as a corrupt file.
    """
    _check_exists(product, gdal_path)
    where = _display(product, gdal_path)
    collector = _GdalWarnings()
    gdal_log = logging.getLogger("rasterio._err")
    gdal_log.addHandler(collector)
    try:
        with rasterio.open(gdal_path) as src:
            data = src.read(1)
            transform, crs = src.transform, (src.crs.to_string() if src.crs else "")
    except (RasterioError, OSError, ValueError) as e:
        msg = " ".join(str(e).split())[:200]
        raise ProductError(where, f"unreadable raster ({msg})") from None
    finally:
        gdal_log.removeHandler(collector)
    if collector.messages:
        msg = " ".join(collector.messages[0].split())[:200]
        raise ProductError(where, f"corrupt raster ({msg})")
    return data, transform, crs


def _as_dataarray(data: np.ndarray, transform: Affine, crs: str, name: str, attrs: dict) -> xr.DataArray:
    """Wrap a north-up raster as a DataArray with pixel-centre y/x coordinates."""
    h, w = data.shape
    x = transform.c + (np.arange(w) + 0.5) * transform.a
    y = transform.f + (np.arange(h) + 0.5) * transform.e
    return xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x}, name=name,
                        attrs={"crs": crs, "transform": tuple(transform)[:6], **attrs})


def read_band(product: Product | str | os.PathLike, band: str, resolution: int | None = None) -> xr.DataArray:
    """A band as reflectance (float32, NaN for no data), or SCL / MSK_* masks as stored integers."""
    if not isinstance(product, Product):
        product = read_metadata(product)
    if band in MASKS or band.startswith("MSK_"):
        path = product.mask_files.get(band)
        if path is None:
            raise ProductError(product.mtd, f"no granule for the quality mask {band}")
        data, transform, crs = _read_raster(product, path)
        return _as_dataarray(data, transform, crs, band, {"units": "%"})
    available = product.resolutions(band)
    if not available:
        raise ProductError(product.mtd, f"band {band} is not listed in the product metadata")
    res = resolution if resolution is not None else available[0]
    if res not in available:
        raise ProductError(product.mtd, f"band {band} is not stored at {res} m (only {available})")
    data, transform, crs = _read_raster(product, product.band_files[(band, res)])
    if band in ("SCL",):
        return _as_dataarray(data, transform, crs, band, {"resolution": res})
    refl = (data.astype(np.float32) + np.float32(product.offsets.get(band, 0.0))) / np.float32(product.quantification)
    refl[data == 0] = np.nan
    return _as_dataarray(refl.astype(np.float32), transform, crs, band,
                         {"resolution": res, "units": "1", "long_name": f"{band} reflectance"})


def summarize(path: str | os.PathLike) -> dict:
    """A JSON-serialisable summary of a product's metadata."""
    p = read_metadata(path)
    bands = [{"band": b, "resolution_m": r, "offset": p.offsets.get(b, 0.0)}
             for (b, r) in sorted(p.band_files, key=lambda k: (k[1], k[0]))]
    return {"level": p.level, "processing_baseline": p.baseline, "tile": p.tile,
            "sensing_time": p.sensing_time, "spacecraft": p.spacecraft, "bands": bands,
            "quantification_value": p.quantification}
