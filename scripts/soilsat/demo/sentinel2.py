"""Demo Sentinel-2 products: L1C and L2A SAFE archives over small tiles of the demo world.

Each scheduled overpass of a region becomes one L2A (BOA, SCL, cloud and snow
probabilities) and one L1C (TOA) product, zipped as the Copernicus Data Space delivers
them, with ESA naming, MTD XMLs, tile geocoding and JPEG 2000 bands. A demo tile is the
region's study grid plus about 500 m, on 10/20/60 m grids aligned to each other. The
truth of each L2A acquisition (clouds, shadows, snow, noise-free indices) is written
beside the archive on the study grid.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import os
import tempfile
import zipfile
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pyproj
import rasterio
from affine import Affine
from lxml import etree

from soilsat.demo import reflectance as rf
from soilsat.demo.world import RegionWorld, WorldSpec, default_workers, sentinel2_schedule
from soilsat.grid import StudyGrid
from soilsat.io import write_cog
from soilsat.optical.indices import evi, normalized_difference

BASELINE = "05.00"
QUANTIFICATION = 10000
OFFSET = -1000
L2A_BANDS = {
    10: ("B02", "B03", "B04", "B08"),
    20: ("B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12"),
    60: ("B01", "B09"),
}
L1C_BANDS = tuple(b for b in rf.BANDS)
SCL_CLASSES = {
    0: "NO_DATA",
    1: "SATURATED_DEFECTIVE",
    2: "CAST_SHADOWS",
    3: "CLOUD_SHADOWS",
    4: "VEGETATION",
    5: "NOT_VEGETATED",
    6: "WATER",
    7: "UNCLASSIFIED",
    8: "CLOUD_MEDIUM_PROBABILITY",
    9: "CLOUD_HIGH_PROBABILITY",
    10: "THIN_CIRRUS",
    11: "SNOW_ICE",
}
TRUTH_BANDS = ("cloud", "snow", "shadow", "ndvi_true", "ndwi_true", "nbr2_true", "bare_true", "evi_true")
PSD = "https://psd-14.sentinel2.eo.esa.int/PSD"
# Lossless, one resolution level, GeoJP2 georeferencing only (GMLJP2 boxes cost ~10 ms a file).
JP2_OPTIONS = dict(QUALITY=100, REVERSIBLE="YES", RESOLUTIONS=1, GMLJP2="NO", GeoJP2="YES")

_MGRS_ROW = "ABCDEFGHJKLMNPQRSTUV"
_MGRS_COL = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
_MGRS_BAND = "CDEFGHJKLMNPQRSTUVWX"


def mgrs_tile(lon: float, lat: float) -> str:
    """MGRS 100 km grid square of a point, e.g. '32UMH' (UTM zone, band, column, row)."""
    if not -80.0 <= lat <= 84.0:
        raise ValueError(f"latitude {lat} is outside the UTM/MGRS domain")
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    band = _MGRS_BAND[min(int((lat + 80.0) // 8.0), len(_MGRS_BAND) - 1)]
    epsg = (32600 if lat >= 0 else 32700) + zone
    x, y = pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    col = _MGRS_COL[(zone - 1) % 3][int(x // 100000) - 1]
    row = _MGRS_ROW[(int(y // 100000) + (5 if zone % 2 == 0 else 0)) % 20]
    return f"{zone:02d}{band}{col}{row}"


@dataclasses.dataclass(frozen=True)
class DemoTile:
    """A small S2 tile around a study grid: 10 m geometry and where the grid sits in it."""

    name: str
    epsg: int
    x0: float
    y0: float
    width: int
    height: int
    row0: int
    col0: int

    def shape(self, resolution: int) -> tuple[int, int]:
        """(rows, cols) at 10, 20 or 60 m."""
        f = resolution // 10
        return (self.height // f, self.width // f)

    def transform(self, resolution: int) -> Affine:
        """The affine geotransform at 10, 20 or 60 m."""
        return Affine(resolution, 0.0, self.x0, 0.0, -resolution, self.y0)

    def footprint_wkt(self) -> str:
        """The tile outline as a lon/lat POLYGON in WKT."""
        t = pyproj.Transformer.from_crs(f"EPSG:{self.epsg}", "EPSG:4326", always_xy=True)
        x1, y1 = self.x0 + self.width * 10, self.y0 - self.height * 10
        corners = [(self.x0, self.y0), (x1, self.y0), (x1, y1), (self.x0, y1), (self.x0, self.y0)]
        pts = [t.transform(x, y) for x, y in corners]
        return "POLYGON((" + ",".join(f"{lon:.6f} {lat:.6f}" for lon, lat in pts) + "))"


def demo_tile(grid: StudyGrid, lon: float, lat: float, margin_m: float = 500.0) -> DemoTile:
    """The demo tile of a study grid: its extent plus a margin, snapped to 60 m."""
    left, bottom, right, top = grid.bounds
    x0 = math.floor((left - margin_m) / 60.0) * 60.0
    y0 = math.ceil((top + margin_m) / 60.0) * 60.0
    x1 = math.ceil((right + margin_m) / 60.0) * 60.0
    y1 = math.floor((bottom - margin_m) / 60.0) * 60.0
    return DemoTile(
        name=mgrs_tile(lon, lat),
        epsg=grid.epsg,
        x0=x0,
        y0=y0,
        width=int(round((x1 - x0) / 10)),
        height=int(round((y0 - y1) / 10)),
        row0=int(round((y0 - top) / 10)),
        col0=int(round((left - x0) / 10)),
    )


def _pad(field: np.ndarray, tile: DemoTile) -> np.ndarray:
    """Extend a study-grid field over the whole tile by mirroring at the grid edges."""
    gh, gw = field.shape
    return np.pad(
        field, ((tile.row0, tile.height - tile.row0 - gh), (tile.col0, tile.width - tile.col0 - gw)), mode="symmetric"
    )


def _crop(field: np.ndarray, tile: DemoTile, grid: StudyGrid) -> np.ndarray:
    """The study-grid part of a 10 m tile field."""
    return field[..., tile.row0 : tile.row0 + grid.height, tile.col0 : tile.col0 + grid.width]


def _aggregate(a: np.ndarray, factor: int, how: str = "mean") -> np.ndarray:
    """Block-aggregate the last two axes by an integer factor (mean or max)."""
    if factor == 1:
        return a
    *lead, h, w = a.shape
    b = a.reshape(*lead, h // factor, factor, w // factor, factor)
    return b.mean(axis=(-3, -1)) if how == "mean" else b.max(axis=(-3, -1))


def acquisition(world: RegionWorld, spec: WorldSpec, region_index: int, day: pd.Timestamp, tile: DemoTile) -> rf.Scene:
    """The scene of one overpass over a region's tile, reproducible from the world seed."""
    truth = world.truth
    water = _pad(truth["landcover"].values == 512, tile)
    surface = rf.surface_reflectance(
        _pad(world.fcover(day), tile),
        _pad(world.soil_moisture(day), tile),
        _pad(truth["clay"].values, tile),
        _pad(truth["soc"].values, tile),
        water,
    )
    rng = np.random.default_rng([spec.seed, 2, region_index, day.toordinal()])
    tmean = float(truth["tmean"].sel(time=day.normalize()).values)
    snow = rf.snow_fraction(world.spec.climate, day, tmean)
    return rf.make_scene(surface, water, rng, spec.cloud_fraction, snow)


def scene_classification(scene: rf.Scene, boa20: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """A Sen2Cor-like SCL at 20 m from the scene's reflectance and masks."""
    boa20 = boa20 or {}
    b = {
        k: boa20[k] if k in boa20 else _aggregate(scene.boa[rf.BAND_INDEX[k]], 2) for k in ("B03", "B04", "B08", "B8A")
    }
    cloud = _aggregate(scene.cloud, 2, "max")
    prob = _aggregate(scene.cloud_probability, 2, "max")
    shadow = _aggregate(scene.shadow, 2, "max")
    snow = _aggregate(scene.snow, 2, "max")
    ndvi = normalized_difference(b["B8A"], b["B04"])
    ndwi_green = normalized_difference(b["B03"], b["B08"])
    scl = np.where(ndvi >= 0.35, 4, 5).astype(np.uint8)
    scl[ndwi_green > 0.2] = 6
    scl[snow] = 11
    scl[shadow] = 3
    scl[cloud] = 8
    scl[cloud & (prob >= 65)] = 9
    return scl


def to_dn(reflectance: np.ndarray) -> np.ndarray:
    """uint16 digital numbers: round(reflectance * 10000) - OFFSET, never 0 (no data) or 65535."""
    dn = np.round(np.asarray(reflectance, dtype=np.float32) * np.float32(QUANTIFICATION)) - np.float32(OFFSET)
    return np.clip(dn, 1, 65534).astype(np.uint16)


def _write_jp2(path: Path, data: np.ndarray, tile: DemoTile, resolution: int) -> None:
    """Write one band as lossless JPEG 2000 with GeoJP2 georeferencing and no sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(
        driver="JP2OpenJPEG",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype.name,
        crs=f"EPSG:{tile.epsg}",
        transform=tile.transform(resolution),
    )
    with rasterio.Env(GDAL_PAM_ENABLED="NO"):
        with rasterio.open(path, "w", **profile, **JP2_OPTIONS) as dst:
            dst.write(data, 1)


@dataclasses.dataclass(frozen=True)
class ProductId:
    """Names and times of one product."""

    level: str
    platform: str
    sensing: dt.datetime
    generation: dt.datetime
    relative_orbit: int
    absolute_orbit: int
    tile: str

    @property
    def name(self) -> str:
        kind = "MSIL2A" if self.level == "L2A" else "MSIL1C"
        return (
            f"{self.platform}_{kind}_{self.sensing:%Y%m%dT%H%M%S}_N{BASELINE.replace('.', '')}"
            f"_R{self.relative_orbit:03d}_T{self.tile}_{self.generation:%Y%m%dT%H%M%S}"
        )

    @property
    def granule(self) -> str:
        return f"{self.level}_T{self.tile}_A{self.absolute_orbit:06d}_{self.sensing:%Y%m%dT%H%M%S}"

    @property
    def stem(self) -> str:
        return f"T{self.tile}_{self.sensing:%Y%m%dT%H%M%S}"

    @property
    def tile_id(self) -> str:
        """The granule (tile) identifier in ESA's long form."""
        return (
            f"S2{self.platform[-1]}_OPER_MSI_{self.level}_TL_DEMO_{self.generation:%Y%m%dT%H%M%S}"
            f"_A{self.absolute_orbit:06d}_T{self.tile}_N{BASELINE}"
        )

    @property
    def datastrip_id(self) -> str:
        """The datastrip identifier in ESA's long form."""
        return (
            f"S2{self.platform[-1]}_OPER_MSI_{self.level}_DS_DEMO_{self.generation:%Y%m%dT%H%M%S}"
            f"_S{self.sensing:%Y%m%dT%H%M%S}_N{BASELINE}"
        )


def product_id(level: str, platform: str, day: pd.Timestamp, lon: float, tile: str) -> ProductId:
    """Plausible sensing time, orbits and generation time of an overpass."""
    hours = 10.9 - lon / 15.0 * 0.6  # the descending node is ~10:30 local solar time
    seconds = int(round(hours * 3600)) + (day.toordinal() * 37) % 60
    sensing = dt.datetime.combine(day.date(), dt.time()) + dt.timedelta(seconds=seconds)
    launch = dt.date(2015, 6, 23) if platform == "S2A" else dt.date(2017, 3, 7)
    absolute = int((day.date() - launch).days * 14.3 + 2)
    relative = int((-lon + 180.0) * 143 / 360.0 * 7) % 143 + 1
    lag = dt.timedelta(hours=2, minutes=31) if level == "L2A" else dt.timedelta(hours=1, minutes=42)
    return ProductId(level, platform, sensing, (sensing + lag).replace(second=0), relative, absolute, tile)


def _el(parent: etree._Element, tag: str, text: object | None = None, **attrib: object) -> etree._Element:
    """Append a child element with optional text and attributes."""
    e = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        e.text = str(text)
    return e


def _band_id_name(band: str) -> str:
    """ESA's physicalBand spelling: B1..B12 and B8A."""
    return band if band == "B8A" else f"B{int(band[1:])}"


def product_mtd(pid: ProductId, image_files: list[str], tile: DemoTile, cloud_cover: float, snow_cover: float) -> bytes:
    """The product metadata (MTD_MSIL2A.xml / MTD_MSIL1C.xml) in ESA's user-product layout."""
    lvl = pid.level[1:]  # "2A" or "1C"
    ns = f"{PSD}/User_Product_Level-{lvl}.xsd"
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    root = etree.Element(f"{{{ns}}}Level-{lvl}_User_Product", nsmap={"n1": ns, "xsi": xsi})
    root.set(f"{{{xsi}}}schemaLocation", f"{ns} {ns}")
    gi = _el(root, f"{{{ns}}}General_Info")
    info = _el(gi, "Product_Info")
    stop = pid.sensing + dt.timedelta(seconds=5)
    _el(info, "PRODUCT_START_TIME", f"{pid.sensing:%Y-%m-%dT%H:%M:%S}.024Z")
    _el(info, "PRODUCT_STOP_TIME", f"{stop:%Y-%m-%dT%H:%M:%S}.024Z")
    _el(info, "PRODUCT_URI", pid.name + ".SAFE")
    _el(info, "PROCESSING_LEVEL", f"Level-{lvl}")
    _el(info, "PRODUCT_TYPE", "S2MSI2A" if pid.level == "L2A" else "S2MSI1C")
    _el(info, "PROCESSING_BASELINE", BASELINE)
    _el(info, "PRODUCT_DOI", f"https://doi.org/10.5270/S2_-{'znk9xsj' if pid.level == 'L2A' else '742ikth'}")
    _el(info, "GENERATION_TIME", f"{pid.generation:%Y-%m-%dT%H:%M:%S}.000000Z")
    dtk = _el(
        info,
        "Datatake",
        datatakeIdentifier=f"G{pid.platform}_{pid.sensing:%Y%m%dT%H%M%S}_{pid.absolute_orbit:06d}_N{BASELINE}",
    )
    _el(dtk, "SPACECRAFT_NAME", "Sentinel-2A" if pid.platform == "S2A" else "Sentinel-2B")
    _el(dtk, "DATATAKE_TYPE", "INS-NOBS")
    _el(dtk, "DATATAKE_SENSING_START", f"{pid.sensing:%Y-%m-%dT%H:%M:%S}.024Z")
    _el(dtk, "SENSING_ORBIT_NUMBER", pid.relative_orbit)
    _el(dtk, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    q = _el(info, "Query_Options", completeSingleTile="true")
    bl = _el(q, "Band_List")
    for b in rf.BANDS:
        if pid.level == "L2A" and b == "B10":
            continue
        _el(bl, "BAND_NAME", _band_id_name(b))
    _el(q, "PRODUCT_FORMAT", "SAFE_COMPACT")
    org = _el(info, "Product_Organisation")
    gl = _el(org, "Granule_List")
    gr = _el(gl, "Granule", datastripIdentifier=pid.datastrip_id, granuleIdentifier=pid.tile_id, imageFormat="JPEG2000")
    for f in image_files:
        _el(gr, "IMAGE_FILE", f)
    pic = _el(gi, "Product_Image_Characteristics")
    for text, idx in (("NODATA", 0), ("SATURATED", 65535)):
        sv = _el(pic, "Special_Values")
        _el(sv, "SPECIAL_VALUE_TEXT", text)
        _el(sv, "SPECIAL_VALUE_INDEX", idx)
    ido = _el(pic, "Image_Display_Order")
    for tag, channel in (("RED_CHANNEL", 3), ("GREEN_CHANNEL", 2), ("BLUE_CHANNEL", 1)):
        _el(ido, tag, channel)
    if pid.level == "L2A":
        qv = _el(pic, "QUANTIFICATION_VALUES_LIST")
        _el(qv, "BOA_QUANTIFICATION_VALUE", QUANTIFICATION, unit="none")
        _el(qv, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
        _el(qv, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
        ol = _el(pic, "BOA_ADD_OFFSET_VALUES_LIST")
        for i, _ in enumerate(rf.BANDS):
            _el(ol, "BOA_ADD_OFFSET", OFFSET, band_id=i)
    else:
        _el(pic, "QUANTIFICATION_VALUE", QUANTIFICATION, unit="none")
        ol = _el(pic, "Radiometric_Offset_List")
        for i, _ in enumerate(rf.BANDS):
            _el(ol, "RADIO_ADD_OFFSET", OFFSET, band_id=i)
    rc = _el(pic, "Reflectance_Conversion")
    doy = pid.sensing.timetuple().tm_yday
    _el(rc, "U", f"{1.0 / (1 - 0.01673 * math.cos(0.0172 * (doy - 4))) ** 2:.12f}")
    sil = _el(rc, "Solar_Irradiance_List")
    for i, b in enumerate(rf.BANDS):
        _el(sil, "SOLAR_IRRADIANCE", rf.SOLAR_IRRADIANCE[b], bandId=i, unit="W/m²/µm")
    spl = _el(pic, "Spectral_Information_List")
    for i, b in enumerate(rf.BANDS):
        si = _el(spl, "Spectral_Information", bandId=i, physicalBand=_band_id_name(b))
        _el(si, "RESOLUTION", rf.RESOLUTION[b])
        wl = _el(si, "Wavelength")
        c, w = rf.WAVELENGTH[b]
        _el(wl, "MIN", f"{c - w / 2:.0f}", unit="nm")
        _el(wl, "MAX", f"{c + w / 2:.0f}", unit="nm")
        _el(wl, "CENTRAL", c, unit="nm")
    _el(pic, "REFERENCE_BAND", 2)
    if pid.level == "L2A":
        scl = _el(pic, "Scene_Classification_List")
        for k, v in SCL_CLASSES.items():
            s = _el(scl, "Scene_Classification_ID")
            _el(s, "SCENE_CLASSIFICATION_TEXT", f"SC_{v}")
            _el(s, "SCENE_CLASSIFICATION_INDEX", k)
    geo = _el(root, f"{{{ns}}}Geometric_Info")
    fp = _el(_el(_el(geo, "Product_Footprint"), "Product_Footprint"), "Global_Footprint")
    ring = tile.footprint_wkt()[len("POLYGON((") : -2].split(",")
    _el(fp, "EXT_POS_LIST", " ".join(f"{p.split()[1]} {p.split()[0]}" for p in ring))
    _el(geo, "Coordinate_Reference_System").append(etree.fromstring('<GEO_TABLES version="1">EPSG</GEO_TABLES>'))
    qii = _el(root, f"{{{ns}}}Quality_Indicators_Info")
    _el(qii, "Cloud_Coverage_Assessment", f"{cloud_cover:.6f}")
    tq = _el(qii, "Technical_Quality_Assessment")
    _el(tq, "DEGRADED_ANC_DATA_PERCENTAGE", "0.0")
    _el(tq, "DEGRADED_MSI_DATA_PERCENTAGE", 0)
    if pid.level == "L2A":
        ic = _el(qii, "Image_Content_QI")
        _el(ic, "NODATA_PIXEL_PERCENTAGE", "0.000000")
        _el(ic, "CLOUDY_PIXEL_PERCENTAGE", f"{cloud_cover:.6f}")
        _el(ic, "SNOW_ICE_PERCENTAGE", f"{snow_cover:.6f}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def tile_mtd(pid: ProductId, tile: DemoTile, cloud_cover: float, masks: list[str]) -> bytes:
    """The granule metadata (MTD_TL.xml): tile geocoding per resolution and QI file names."""
    lvl = pid.level[1:]
    ns = f"{PSD}/S2_PDI_Level-{lvl}_Tile_Metadata.xsd"
    root = etree.Element(f"{{{ns}}}Level-{lvl}_Tile_ID", nsmap={"n1": ns})
    gi = _el(root, f"{{{ns}}}General_Info")
    _el(gi, "TILE_ID", pid.tile_id)
    _el(gi, "SENSING_TIME", f"{pid.sensing:%Y-%m-%dT%H:%M:%S}.024Z")
    geo = _el(root, f"{{{ns}}}Geometric_Info")
    tg = _el(geo, "Tile_Geocoding", metadataLevel="Brief")
    zone = tile.epsg % 100
    hemi = "N" if tile.epsg < 32700 else "S"
    _el(tg, "HORIZONTAL_CS_NAME", f"WGS84 / UTM zone {zone}{hemi}")
    _el(tg, "HORIZONTAL_CS_CODE", f"EPSG:{tile.epsg}")
    for res in (10, 20, 60):
        rows, cols = tile.shape(res)
        size = _el(tg, "Size", resolution=res)
        _el(size, "NROWS", rows)
        _el(size, "NCOLS", cols)
    for res in (10, 20, 60):
        gp = _el(tg, "Geoposition", resolution=res)
        _el(gp, "ULX", f"{tile.x0:.0f}")
        _el(gp, "ULY", f"{tile.y0:.0f}")
        _el(gp, "XDIM", res)
        _el(gp, "YDIM", -res)
    ta = _el(geo, "Tile_Angles")
    sun = _el(ta, "Mean_Sun_Angle")
    doy = pid.sensing.timetuple().tm_yday
    _el(sun, "ZENITH_ANGLE", f"{45 - 20 * math.cos(2 * math.pi * (doy - 172) / 365.25):.6f}", unit="deg")
    _el(sun, "AZIMUTH_ANGLE", "160.0", unit="deg")
    qi = _el(root, f"{{{ns}}}Quality_Indicators_Info", metadataLevel="Standard")
    ic = _el(qi, "Image_Content_QI")
    _el(ic, "CLOUDY_PIXEL_PERCENTAGE", f"{cloud_cover:.6f}")
    pl = _el(qi, "Pixel_Level_QI", geometry="FULL_RESOLUTION")
    for m in masks:
        kind = "MSK_CLDPRB" if "CLDPRB" in m else ("MSK_SNWPRB" if "SNWPRB" in m else "MSK_CLASSI")
        _el(pl, "MASK_FILENAME", m, type=kind)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _md5(path: Path) -> str:
    """MD5 hex digest of a file."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(safe_dir: Path, pid: ProductId) -> bytes:
    """A SAFE manifest (XFDU) listing every file of the product with its size and MD5."""
    xfdu = "urn:ccsds:schema:xfdu:1"
    version = f"esa/safe/sentinel/1.1/sentinel-2/msi/archive_l{pid.level[1:].lower()}_user_product"
    root = etree.Element(f"{{{xfdu}}}XFDU", nsmap={"xfdu": xfdu}, version=version)
    ipm = _el(root, "informationPackageMap")
    cu = _el(ipm, f"{{{xfdu}}}contentUnit", unitType="Product_Level-" + pid.level[1:], textInfo=pid.name)
    _el(root, "metadataSection")
    dos = _el(root, "dataObjectSection")
    for i, f in enumerate(sorted(p for p in safe_dir.rglob("*") if p.is_file())):
        rel = f.relative_to(safe_dir).as_posix()
        _el(cu, f"{{{xfdu}}}contentUnit", unitType="Data", dataObjectID=f"obj{i}")
        do = _el(dos, "dataObject", ID=f"obj{i}")
        bs = _el(do, "byteStream", mimeType="application/octet-stream", size=f.stat().st_size)
        _el(bs, "fileLocation", locatorType="URL", href=f"./{rel}")
        _el(bs, "checksum", _md5(f), checksumName="MD5")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _zip_dir(src: Path, dest: Path, stamp: dt.datetime) -> None:
    """Zip a SAFE folder (JP2 stored, XML deflated), atomically, every member dated `stamp` (reproducible bytes)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(tmp, "w") as z:
        for f in sorted(p for p in src.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f.relative_to(src.parent).as_posix(), date_time=date_time)
            info.compress_type = zipfile.ZIP_STORED if f.suffix == ".jp2" else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, f.read_bytes())
    os.replace(tmp, dest)


def _bands_at(refl: np.ndarray, resolution: int, bands: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Selected bands of a 10 m (13, y, x) stack, block-averaged to 10, 20 or 60 m."""
    return {b: _aggregate(refl[rf.BAND_INDEX[b]], resolution // 10) for b in bands}


def write_safe(pid: ProductId, scene: rf.Scene, tile: DemoTile, dest_zip: Path) -> float:
    """Write one L2A or L1C product as a zipped SAFE; return its cloud cover (percent)."""
    boa20 = _bands_at(scene.boa, 20, L2A_BANDS[20] + ("B08",)) if pid.level == "L2A" else None
    scl = scene_classification(scene, boa20)
    cloud_cover = float(np.isin(scl, (8, 9, 10)).mean() * 100)
    snow_cover = float((scl == 11).mean() * 100)
    with tempfile.TemporaryDirectory(dir=dest_zip.parent, prefix=".s2-") as tmp:
        safe = Path(tmp) / f"{pid.name}.SAFE"
        gdir = safe / "GRANULE" / pid.granule
        image_files: list[str] = []
        masks: list[str] = []
        if pid.level == "L2A":
            for res, bands in L2A_BANDS.items():
                # boa20 is set for L2A products
                agg = cast(dict[str, np.ndarray], boa20) if res == 20 else _bands_at(scene.boa, res, bands)
                for b in bands + (("SCL",) if res == 20 else ()):
                    data = scl if b == "SCL" else to_dn(agg[b])
                    rel = f"IMG_DATA/R{res}m/{pid.stem}_{b}_{res}m"
                    _write_jp2(gdir / f"{rel}.jp2", data, tile, res)
                    image_files.append(f"GRANULE/{pid.granule}/{rel}")
            for name, arr in (("MSK_CLDPRB_20m", scene.cloud_probability), ("MSK_SNWPRB_20m", scene.snow_probability)):
                prob = _aggregate(arr, 2, "max").astype(np.uint8)
                _write_jp2(gdir / "QI_DATA" / f"{name}.jp2", prob, tile, 20)
                masks.append(f"GRANULE/{pid.granule}/QI_DATA/{name}.jp2")
        else:
            for b in L1C_BANDS:
                res = rf.RESOLUTION[b]
                rel = f"IMG_DATA/{pid.stem}_{b}"
                data = to_dn(_aggregate(scene.toa[rf.BAND_INDEX[b]], res // 10))
                _write_jp2(gdir / f"{rel}.jp2", data, tile, res)
                image_files.append(f"GRANULE/{pid.granule}/{rel}")
            cld = _aggregate(scene.cloud_probability, 6, "max") >= 65
            _write_jp2(gdir / "QI_DATA" / "MSK_CLASSI_B00.jp2", cld.astype(np.uint8), tile, 60)
            masks.append(f"GRANULE/{pid.granule}/QI_DATA/MSK_CLASSI_B00.jp2")
        (gdir / "MTD_TL.xml").write_bytes(tile_mtd(pid, tile, cloud_cover, masks))
        for d in ("AUX_DATA",):
            (gdir / d).mkdir(exist_ok=True)
        (safe / "DATASTRIP").mkdir(exist_ok=True)
        (safe / "HTML").mkdir(exist_ok=True)
        (safe / "rep_info").mkdir(exist_ok=True)
        mtd_name = "MTD_MSIL2A.xml" if pid.level == "L2A" else "MTD_MSIL1C.xml"
        (safe / mtd_name).write_bytes(product_mtd(pid, image_files, tile, cloud_cover, snow_cover))
        (safe / "INSPIRE.xml").write_bytes(
            b'<?xml version="1.0" encoding="UTF-8"?>\n<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"/>\n'
        )
        (safe / "manifest.safe").write_bytes(manifest(safe, pid))
        _zip_dir(safe, dest_zip, pid.generation)
    return cloud_cover


def write_truth(path: Path, scene: rf.Scene, tile: DemoTile, grid: StudyGrid, name: str) -> None:
    """The truth of one acquisition on the study grid: masks and noise-free indices (EVI with B08, B04, B02)."""
    surface = _crop(scene.surface, tile, grid)
    idx = rf.truth_indices(surface)
    band = {name: surface[i] for i, name in enumerate(rf.BANDS)}
    evi_true = evi(band["B08"], band["B04"], band["B02"])  # the config's default EVI bands and coefficients
    layers = [
        _crop(scene.cloud, tile, grid),
        _crop(scene.snow, tile, grid),
        _crop(scene.shadow, tile, grid),
        idx["ndvi_true"],
        idx["ndwi_true"],
        idx["nbr2_true"],
        idx["bare_true"],
        evi_true,
    ]
    write_cog(
        path,
        np.stack([np.asarray(a, dtype=np.float32) for a in layers]),
        grid,
        TRUTH_BANDS,
        tags={"product": name, "source": "demo world truth"},
    )


# The worlds and settings of the running write_products, inherited by forked workers.
_JOB_CONTEXT: dict = {}


def _one_overpass(job: tuple[int, dict]) -> list[dict]:
    """Write every requested level of one overpass; return their catalog rows."""
    region_index, row = job
    ctx = _JOB_CONTEXT
    world, spec = ctx["world"][region_index], ctx["spec"]
    archive_dir, truth_dir, levels = ctx["archive_dir"], ctx["truth_dir"], ctx["levels"]
    day = pd.Timestamp(row["date"]).normalize()
    tile = demo_tile(world.grid, world.spec.lon, world.spec.lat)
    scene = acquisition(world, spec, region_index, day, tile)
    out = []
    for level in levels:
        pid = product_id(level, row["platform"], day, world.spec.lon, tile.name)
        dest = Path(archive_dir) / "sentinel2" / f"{pid.name}.zip"
        cloud_cover = write_safe(pid, scene, tile, dest)
        if level == "L2A":
            truth = Path(truth_dir) / "sentinel2" / f"{pid.name}_{world.spec.name}.tif"
            write_truth(truth, scene, tile, world.grid, pid.name)
        out.append(
            {
                "source": "sentinel2",
                "name": pid.name,
                "path": f"sentinel2/{pid.name}.zip",
                "product_type": "S2MSI2A" if level == "L2A" else "S2MSI1C",
                "platform": row["platform"],
                "sensing_start": f"{pid.sensing:%Y-%m-%dT%H:%M:%S}.024Z",
                "sensing_stop": f"{pid.sensing + dt.timedelta(seconds=5):%Y-%m-%dT%H:%M:%S}.024Z",
                "tile": tile.name,
                "processing_baseline": BASELINE,
                "cloud_cover": round(cloud_cover, 3),
                "footprint_wkt": tile.footprint_wkt(),
                "region": world.spec.name,
                "size": dest.stat().st_size,
                "md5": _md5(dest),
            }
        )
    return out


def write_products(
    world: list[RegionWorld],
    spec: WorldSpec,
    archive_dir: Path,
    truth_dir: Path,
    levels: tuple[str, ...] = ("L2A", "L1C"),
    workers: int | None = None,
) -> list[dict]:
    """Write the L2A/L1C products of every scheduled overpass; return one dict per product.

    `workers` processes (default: up to 2 of the CPUs this process may use) share the
    overpasses; the result does not depend on their number.
    """
    unknown = set(levels) - {"L2A", "L1C"}
    if unknown:
        raise ValueError(f"unknown Sentinel-2 level(s) {sorted(unknown)}; use L2A and/or L1C")
    if workers is None:
        workers = default_workers()
    (Path(archive_dir) / "sentinel2").mkdir(parents=True, exist_ok=True)
    (Path(truth_dir) / "sentinel2").mkdir(parents=True, exist_ok=True)
    by_name = {w.spec.name: i for i, w in enumerate(world)}
    jobs = [
        (by_name[row["region"]], row) for row in sentinel2_schedule(spec).to_dict("records") if row["region"] in by_name
    ]
    _JOB_CONTEXT.update(
        world=list(world), spec=spec, archive_dir=str(archive_dir), truth_dir=str(truth_dir), levels=tuple(levels)
    )
    try:
        if workers > 1 and len(jobs) > 1:
            import concurrent.futures as cf
            import multiprocessing as mp

            with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
                results = list(ex.map(_one_overpass, jobs, chunksize=2))
        else:
            results = [_one_overpass(j) for j in jobs]
    finally:
        _JOB_CONTEXT.clear()
    return [r for rows in results for r in rows]


__all__ = [
    "write_products",
    "mgrs_tile",
    "demo_tile",
    "DemoTile",
    "acquisition",
    "product_id",
    "scene_classification",
    "to_dn",
]
