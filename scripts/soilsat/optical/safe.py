"""Reading Sentinel-2 L2A (and L1C) SAFE products of the compact format, as folders or zips, of any baseline.

The product metadata (MTD_MSIL2A.xml / MTD_MSIL1C.xml) gives the band files, the
quantification values and, from processing baseline 04.00 on, the radiometric offsets:
reflectance = (DN + offset) / quantification. Each scale comes from the metadata element
that defines it: BOA (L2A) or TOA (L1C) reflectance, aerosol optical thickness (AOT) and
water vapour (WVP) have their own. DN 0 is no data. Products of the first SAFE format
(S2A_OPER_PRD_MSIL1C_PDMC_..., several tiles in one product, distributed until December
2016) are refused with the name of the reprocessed compact product to use instead. Every
failure to read a product raises ProductError naming the file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from xml.etree.ElementTree import Element

import numpy as np
import rasterio
import xarray as xr
from affine import Affine
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from rasterio.errors import RasterioError
from rasterio.io import DatasetReader
from rasterio.windows import Window

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.grid_window import covering_window
from soilsat.remote_files import is_remote
from soilsat.safe_location import is_s2_metadata, locate

# ESA band_id (0..12) to band name.
BAND_IDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
NATIVE_RESOLUTION = {
    "B01": 60,
    "B02": 10,
    "B03": 10,
    "B04": 10,
    "B05": 20,
    "B06": 20,
    "B07": 20,
    "B08": 10,
    "B8A": 20,
    "B09": 60,
    "B10": 60,
    "B11": 20,
    "B12": 20,
    "SCL": 20,
    "AOT": 10,
    "WVP": 10,
    "TCI": 10,
}
MASKS = ("MSK_CLDPRB_20m", "MSK_SNWPRB_20m", "MSK_CLDPRB_60m", "MSK_SNWPRB_60m")
# Files only a Level-2A product has, with what they are.
L2A_ONLY = {
    "SCL": "the scene classification",
    "AOT": "the aerosol optical thickness",
    "WVP": "the water vapour",
    **{m: f"the {'cloud' if 'CLD' in m else 'snow'} probability mask" for m in MASKS},
}
# Quantification values of the L2A rasters that are not reflectances (older Sen2Cor names them L2A_...)
QUANTIFIED = {
    "AOT": ("AOT_QUANTIFICATION_VALUE", "L2A_AOT_QUANTIFICATION_VALUE"),
    "WVP": ("WVP_QUANTIFICATION_VALUE", "L2A_WVP_QUANTIFICATION_VALUE"),
}
UNQUANTIFIED = ("SCL",)  # class codes: stored values, no scale
RASTER_ATTRS = {
    "AOT": {"units": "1", "long_name": "aerosol optical thickness at 550 nm"},
    "WVP": {"units": "cm", "long_name": "water vapour column"},
}
_FIRST_FORMAT = re.compile(r"^S2[A-D]_(OPER|USER)_MTD_SAF")
_GRANULE_TILE = re.compile(r"_T(\d{2}[C-X][A-Z]{2})(_|$)")
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
    scales: dict[str, float] = dataclasses.field(default_factory=dict)  # AOT / WVP quantification values (L2A)

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


def _expected_metadata(name: str) -> str:
    """The metadata file a product of this name should have (both names when its name does not tell the level)."""
    for level in ("1C", "2A"):
        if f"MSIL{level}" in name:
            return f"MTD_MSIL{level}.xml"
    return "MTD_MSIL1C.xml or MTD_MSIL2A.xml"


def _locate(path: str | os.PathLike) -> tuple[str, str, str, frozenset[str] | None, bytes]:
    """(GDAL root of the SAFE, MTD path for messages, MTD file name, zip members, MTD bytes)."""
    location = locate(path, is_s2_metadata)
    expected = _expected_metadata(location.name)
    if location.is_zip:
        if location.marker is None:
            raise ProductError(location.path, f"no product metadata ({expected}) in the zip")
        member = location.root + location.marker
        try:
            with zipfile.ZipFile(location.path) as z:
                data = z.read(member)
        except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile, zlib.error) as e:
            raise ProductError(location.path, f"unreadable or truncated zip ({e})") from None
        gdal_root = f"/vsizip/{location.path.resolve()}" + (f"/{location.root.rstrip('/')}" if location.root else "")
        return gdal_root, f"{location.path}/{member}", location.marker, location.members, data
    if location.marker is None:
        if " or " in expected:
            raise ProductError(location.path, f"product metadata ({expected}) missing from the SAFE folder")
        raise ProductError(location.path / expected, "product metadata missing from the SAFE folder")
    mtd = location.path / location.marker
    try:
        data = mtd.read_bytes()
    except OSError as e:
        raise ProductError(mtd, f"unreadable ({e.strerror})") from None
    return str(location.path.resolve()), str(mtd), mtd.name, None, data


def _parse(data: bytes, where: str) -> Element:
    """Parse XML with entity expansion, DTDs and network access refused."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as e:
        raise ProductError(
            where,
            f"XML declares a DTD or entities ({type(e).__name__}: external entities or "
            "entity expansion), which Sentinel-2 metadata never does; refused. The file is "
            "not ESA's: download the product again",
        ) from None
    except Exception as e:  # defusedxml and expat errors share no base class
        raise ProductError(
            where, f"invalid XML ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None


def _compact_time(text: str | None) -> str:
    """'2016-09-05T00:57:12.026Z' as a compact product name writes it: 20160905T005712."""
    return re.sub(r"[-:]", "", (text or "")[:19]) or "*"


def refuse_first_format(root: Element, where: str, name: str) -> None:
    """ProductError for a product of the first SAFE format, naming its tiles and the compact product of each."""
    tiles = sorted(
        {
            m.group(1)
            for e in _find_all(root, "Granules") + _find_all(root, "Granule")
            for m in [_GRANULE_TILE.search(e.get("granuleIdentifier", ""))]
            if m
        }
    )
    level = "MSIL2A" if "SAFL2A" in name else "MSIL1C"
    mission = (_text(root, "SPACECRAFT_NAME") or "Sentinel-2A")[-1]
    start = _compact_time(_text(root, "DATATAKE_SENSING_START", "PRODUCT_START_TIME"))
    orbit = _text(root, "SENSING_ORBIT_NUMBER") or "*"
    shown = ", ".join(f"T{t}" for t in tiles[:8]) + (f" and {len(tiles) - 8} more" if len(tiles) > 8 else "")
    raise ProductError(
        where,
        f"a Sentinel-2 product of the first SAFE format (S2{mission}_OPER_PRD_{level}_..., "
        f"{len(tiles)} tiles in one product: {shown}), which soilsat does not read; use the "
        f"reprocessed product of each tile in the compact format from the Copernicus Data Space "
        f"archive (S2{mission}_{level}_{start}_N*_R{orbit.zfill(3)}_T<tile>_*.SAFE)",
    )


def _scales(root: Element, where: str, level: str) -> dict[str, float]:
    """The quantification values of L2A rasters that are not reflectances (AOT, WVP), where the metadata give them."""
    if level != "L2A":
        return {}
    out = {}
    for band, names in QUANTIFIED.items():
        text = _text(root, *names)
        if text is None:
            continue
        try:
            out[band] = float(text)
        except ValueError:
            raise ProductError(where, f"{names[0]} is not a number: {text!r}") from None
    return out


def read_metadata(path: str | os.PathLike) -> Product:
    """Parse a product's metadata: level, baseline, tile, time, quantification values, offsets, files."""
    root_dir, mtd_where, mtd_member, members, data = _locate(path)
    root = _parse(data, mtd_where)
    if _FIRST_FORMAT.match(mtd_member):
        refuse_first_format(root, mtd_where, mtd_member)
    top = _local(root.tag)
    level = "L2A" if "2A" in top or "MSIL2A" in mtd_member else "L1C"
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
            offsets[BAND_IDS[int(e.get("band_id", "-1"))]] = float(e.text)  # type: ignore[arg-type]  # no text: TypeError, caught
        except (IndexError, TypeError, ValueError):
            raise ProductError(mtd_where, f"malformed {offset_tag} entry {e.attrib}") from None
    if level == "L2A" and _baseline_number(baseline) == 99.99:
        # Sen2Cor stamps its own products 99.99; versions before 2.10 list no offset and apply none
        said = f"lists {offset_tag}: using them" if found else f"lists no {offset_tag}: offsets 0"
        logging.getLogger(__name__).info("%s: Sen2Cor's own product (baseline 99.99) %s", mtd_where, said)
    elif not found and _baseline_number(baseline) >= 4.0:
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
    for g in granules if level == "L2A" else ():
        for name in MASKS:
            masks[name] = f"{root_dir}/GRANULE/{g}/QI_DATA/{name}.jp2"
    return Product(
        path=str(path),
        root=root_dir,
        mtd=mtd_where,
        level=level,
        baseline=baseline,
        tile=tile,
        sensing_time=sensing,
        spacecraft=spacecraft,
        quantification=float(q),
        offsets=offsets,
        band_files=band_files,
        mask_files=masks,
        members=members,
        scales=_scales(root, mtd_where, level),
    )


def _display(product: Product, gdal_path: str) -> str:
    """A file path as the user knows it (zip path plus member, or plain path)."""
    if gdal_path.startswith("/vsizip/"):
        return gdal_path[len("/vsizip/") :]
    return gdal_path


def _check_exists(product: Product, gdal_path: str) -> None:
    """Raise ProductError when a listed file is not in the product."""
    if product.members is not None:
        member = gdal_path.split(".zip/", 1)[1] if ".zip/" in gdal_path else gdal_path
        if member not in product.members:
            raise ProductError(_display(product, gdal_path), "file listed in the product metadata is missing")
    elif not is_remote(gdal_path) and not Path(gdal_path).exists():
        raise ProductError(gdal_path, "file listed in the product metadata is missing")


class _GdalWarnings(logging.Handler):
    """Collects the warnings GDAL reports through rasterio while a file is decoded."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


GDAL_REASON_CHARS = 400
_GENERIC = ("See previous exception", "not recognized as being in a supported file format")


def gdal_reason(messages: list[str], paths: tuple[str, ...]) -> str:
    """GDAL's reason from its messages, the file's paths taken out (the error names the file already).

    A message that only says the file is not supported, or points at a previous one, yields to
    the more specific ones; the reason is cut only after GDAL_REASON_CHARS characters of its own.
    """
    cleaned = []
    for message in messages:
        for path in sorted(paths, key=len, reverse=True):
            message = message.replace(f"'{path}'", "file").replace(path, "file")
        message = " ".join(message.split()).strip(" .")
        if message and message not in cleaned:
            cleaned.append(message)
    cleaned = [m for m in cleaned if not any(m != other and m in other for other in cleaned)]
    specific = [m for m in cleaned if not any(g in m for g in _GENERIC)] or cleaned
    reason = "; ".join(specific) or "no reason given"
    return reason if len(reason) <= GDAL_REASON_CHARS else reason[:GDAL_REASON_CHARS] + "..."


def _chain(exc: BaseException | None) -> list[str]:
    """The messages of an exception and of the ones it was raised from (GDAL's errors come chained)."""
    out, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return out


class OpenFiles:
    """Raster files opened once each, at their first read, and kept open for the windows read after it until
    closed (several chips from one product without opening its files again)."""

    def __init__(self) -> None:
        self._datasets: dict[str, DatasetReader] = {}

    def dataset(self, gdal_path: str) -> DatasetReader:
        """The open dataset of a file, opened now if it is not open yet."""
        if gdal_path not in self._datasets:
            self._datasets[gdal_path] = rasterio.open(gdal_path)
        return self._datasets[gdal_path]

    def close(self) -> None:
        """Close every file opened."""
        datasets, self._datasets = list(self._datasets.values()), {}
        for dataset in datasets:
            dataset.close()

    def __enter__(self) -> OpenFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_window(src: DatasetReader, cover: StudyGrid | None, where: str) -> tuple[np.ndarray, Affine, str]:
    """Band 1 of an open raster (only the window covering `cover`, if given), its geotransform and CRS."""
    crs = src.crs.to_string() if src.crs else ""
    window = None if cover is None else covering_window(cover, crs, src.transform, src.shape)
    if cover is not None and window is None:
        raise ProductError(where, f"does not overlap the grid {cover.region} ({cover.crs})")
    window = None if window is None else Window(window[1], window[0], window[3], window[2])
    data = src.read(1, window=window)
    transform = src.transform if window is None else src.window_transform(window)
    return data, transform, crs


def _read_raster(
    product: Product, gdal_path: str, cover: StudyGrid | None = None, files: OpenFiles | None = None
) -> tuple[np.ndarray, Affine, str]:
    """Read band 1 of a JP2 (only the window covering `cover`, if given) with its geotransform and CRS, as
    ProductError on any failure; from the file open in `files` (opened there at its first read), if given.

    A JPEG 2000 decoder meets a damaged codestream with a warning and returns garbage, so
    any GDAL warning while decoding counts as a corrupt file.
    """
    _check_exists(product, gdal_path)
    where = _display(product, gdal_path)
    paths = (gdal_path, where, PurePosixPath(gdal_path).name)
    collector = _GdalWarnings()
    gdal_log = logging.getLogger("rasterio._err")
    gdal_log.addHandler(collector)
    try:
        if files is not None:
            data, transform, crs = _read_window(files.dataset(gdal_path), cover, where)
        else:
            with rasterio.open(gdal_path) as src:
                data, transform, crs = _read_window(src, cover, where)
    except (RasterioError, OSError, ValueError) as e:
        raise ProductError(where, f"unreadable raster ({gdal_reason(_chain(e), paths)})") from None
    finally:
        gdal_log.removeHandler(collector)
    if collector.messages:
        raise ProductError(where, f"corrupt raster ({gdal_reason(collector.messages, paths)})")
    return data, transform, crs


def _as_dataarray(data: np.ndarray, transform: Affine, crs: str, name: str, attrs: dict) -> xr.DataArray:
    """Wrap a north-up raster as a DataArray with pixel-centre y/x coordinates."""
    h, w = data.shape
    x = transform.c + (np.arange(w) + 0.5) * transform.a
    y = transform.f + (np.arange(h) + 0.5) * transform.e
    return xr.DataArray(
        data,
        dims=("y", "x"),
        coords={"y": y, "x": x},
        name=name,
        attrs={"crs": crs, "transform": tuple(transform)[:6], **attrs},
    )


def _refuse_l2a_file(product: Product, band: str) -> None:
    """ProductError saying that a Level-2A file was asked of a Level-1C product."""
    if product.level != "L2A" and band in L2A_ONLY:
        raise ProductError(
            product.mtd,
            f"{band} ({L2A_ONLY[band]}) belongs to Level-2A products, and this is a "
            f"{product.level} product: run Sen2Cor on it (sentinel2.level: L1C) or use "
            "the L2A product of this acquisition",
        )


@dataclasses.dataclass(frozen=True)
class BandRaster:
    """A band's numbers as read_band gives them, with the geotransform and CRS of the window read."""

    values: np.ndarray
    transform: Affine
    crs: str
    name: str
    attrs: dict


def band_raster(
    product: Product | str | os.PathLike,
    band: str,
    resolution: int | None = None,
    cover: StudyGrid | None = None,
    files: OpenFiles | None = None,
) -> BandRaster:
    """A band's numbers as read_band scales them, without making them a DataArray (see read_band)."""
    if not isinstance(product, Product):
        product = read_metadata(product)
    _refuse_l2a_file(product, band)
    if band == "TCI":
        raise ProductError(
            product.mtd,
            "TCI is the 8-bit true-colour image (three bands), not a measurement: read B02, B03 and B04 instead",
        )
    if band in MASKS or band.startswith("MSK_"):
        path = product.mask_files.get(band)
        if path is None:
            raise ProductError(product.mtd, f"no granule for the quality mask {band}")
        data, transform, crs = _read_raster(product, path, cover, files)
        return BandRaster(data, transform, crs, band, {"units": "%"})
    available = product.resolutions(band)
    if not available:
        raise ProductError(product.mtd, f"band {band} is not listed in the product metadata")
    res = resolution if resolution is not None else available[0]
    if res not in available:
        raise ProductError(product.mtd, f"band {band} is not stored at {res} m (only {available})")
    data, transform, crs = _read_raster(product, product.band_files[(band, res)], cover, files)
    if band in UNQUANTIFIED:
        return BandRaster(data, transform, crs, band, {"resolution": res})
    if band in QUANTIFIED:
        if band not in product.scales:
            raise ProductError(
                product.mtd, f"no {QUANTIFIED[band][0]} in the product metadata, so {band} cannot be scaled"
            )
        scale, offset, attrs = product.scales[band], 0.0, RASTER_ATTRS[band]
    else:
        scale, offset = product.quantification, product.offsets.get(band, 0.0)
        attrs = {"units": "1", "long_name": f"{band} reflectance"}
    values = (data.astype(np.float32) + np.float32(offset)) / np.float32(scale)
    values[data == 0] = np.nan
    return BandRaster(values.astype(np.float32), transform, crs, band, {"resolution": res, **attrs})


def read_band(
    product: Product | str | os.PathLike,
    band: str,
    resolution: int | None = None,
    cover: StudyGrid | None = None,
    files: OpenFiles | None = None,
) -> xr.DataArray:
    """A band as reflectance, AOT as optical thickness or WVP in cm (float32, NaN for no data), each scaled by its
    own quantification value; SCL and the MSK_* masks as stored integers. With `cover`, only the window of the
    file that covers that grid (and a margin for resampling) is read; with `files`, from the file kept open there."""
    raster = band_raster(product, band, resolution, cover, files)
    return _as_dataarray(raster.values, raster.transform, raster.crs, raster.name, raster.attrs)


def summarize(path: str | os.PathLike) -> dict:
    """A JSON-serialisable summary of a product's metadata."""
    p = read_metadata(path)
    bands = [
        {"band": b, "resolution_m": r, "offset": p.offsets.get(b, 0.0)}
        for (b, r) in sorted(p.band_files, key=lambda k: (k[1], k[0]))
    ]
    return {
        "level": p.level,
        "processing_baseline": p.baseline,
        "tile": p.tile,
        "sensing_time": p.sensing_time,
        "spacecraft": p.spacecraft,
        "bands": bands,
        "quantification_value": p.quantification,
        "aot_quantification_value": p.scales.get("AOT"),
        "wvp_quantification_value": p.scales.get("WVP"),
    }
