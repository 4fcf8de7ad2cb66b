"""Reading Sentinel-1 Level-1 products in the SAFE format (GRD to process, the others to describe).

The reader works on ESA's own metadata: the manifest (``manifest.safe``) and, per image,
the product annotation, calibration and noise XMLs under ``annotation/``. A GRD product has
one image per polarisation; other Level-1 products (SLC, and the wave mode) have one per
swath and polarisation. Any product is described image by image, but only GRD products
are processed: asking another for a polarisation's data names its product type and what
soilsat accepts.
Members of a zip are read one at a time, never extracted as a whole. Every problem a user
can act on (a missing or unreadable file, an XML that does not parse, a polarisation the
product lacks) is raised as :class:`soilsat.errors.ProductError` naming the file.

Times are naive UTC datetimes (``datetime.datetime``) for scalars and
``numpy.datetime64[ns]`` in arrays and data frames.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
from lxml import etree

from soilsat.errors import ProductError
from soilsat.safe_location import locate

MANIFEST = "manifest.safe"

# repID of the manifest's data objects -> the role of the file in this reader
_ROLES = {
    "s1Level1ProductSchema": "annotation",
    "s1Level1CalibrationSchema": "calibration",
    "s1Level1NoiseSchema": "noise",
    "s1Level1MeasurementSchema": "measurement",
}
# s1b-iw1-slc-vv-20210401t052624-20210401t052649-026269-032297-004.xml, calibration-s1b-..., noise-s1b-...
_IMAGE_NAME = re.compile(
    r"(?:^|-)s1[a-d]-(?P<swath>[a-z]+\d?)-[a-z]{3}-(?P<pol>hh|hv|vv|vh)-\d{8}t\d{6}-\d{8}t\d{6}-\d{6}-[0-9a-f]{6}-"
    r"(?P<number>\d{3})\.",
    re.IGNORECASE,
)
GRD = "GRD"
ACCEPTED = "soilsat processes Level-1 GRD products (GRDF, GRDH or GRDM: one image per polarisation)"
_PRODUCT_NAME = re.compile(
    r"^(?P<mission>S1[A-D])_(?P<mode>[A-Z0-9]{2})_(?P<type>[A-Z]{3})(?P<res>[FHM_])_"
    r"(?P<level>\d)(?P<cls>[SA])(?P<pol>[A-Z]{2})_"
)
_RESOLUTIONS = {"F": "full", "H": "high", "M": "medium", "_": "not applicable"}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
# A document type declaration (with its entities) ahead of the root element. ESA's metadata never
# has one, and refusing it outright stops external entities (XXE) and entity expansion
# ("billion laughs") before lxml sees them.
_DOCTYPE = re.compile(rb"^(\xef\xbb\xbf)?\s*(<\?xml[^>]*\?>)?\s*(<!--.*?-->\s*|<\?.*?\?>\s*)*<!DOCTYPE", re.S)
_DTD_REFUSED = (
    "XML declares a DTD (<!DOCTYPE>, entity declarations: external entities or entity expansion), "
    "which Sentinel-1 metadata never does; refused. The file is not ESA's: download the product again"
)


# --------------------------------------------------------------------------- containers


class SafeContainer:
    """Read access to the files of one SAFE product, folder or zip, by relative path.

    The path may be anything soilsat.safe_location accepts: the SAFE folder (with or without
    its suffix), a folder holding one, its manifest.safe, or a zip holding the product at its
    top or one folder deeper.
    """

    def __init__(self, path: str | os.PathLike):
        location = locate(path, lambda name: name == MANIFEST)
        self.path = location.path
        self._zip: zipfile.ZipFile | None = None
        self.root = location.root  # the .SAFE folder inside the zip, with a trailing slash
        if location.marker is None:
            where = "zip" if location.is_zip else "folder"
            raise ProductError(self.path, f"not a SAFE product: no {MANIFEST} in the {where}")
        if location.is_zip:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ProductError(
                    self.path, f"not a readable zip file ({exc}); truncated or corrupt download?"
                ) from None

    @property
    def name(self) -> str:
        """The product name, without .SAFE / .zip."""
        base = PurePosixPath(self.root).name if self._zip is not None else self.path.name
        if not base:
            base = self.path.name
        for suffix in (".zip", ".SAFE", ".safe"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        return base

    def describe(self, rel: str) -> str:
        """How to name a member in messages: the file, or zip!member."""
        rel = member_path(rel)
        if self._zip is not None:
            return f"{self.path}!{self.root}{rel}"
        return str(self.path / rel)

    def exists(self, rel: str) -> bool:
        rel = member_path(rel)
        if self._zip is not None:
            try:
                self._zip.getinfo(self.root + rel)
                return True
            except KeyError:
                return False
        return (self.path / rel).is_file()

    def read(self, rel: str) -> bytes:
        rel = member_path(rel)
        where = self.describe(rel)
        try:
            if self._zip is not None:
                return self._zip.read(self.root + rel)
            return (self.path / rel).read_bytes()
        except KeyError:
            raise ProductError(where, "missing from the product") from None
        except FileNotFoundError:
            raise ProductError(where, "missing from the product") from None
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise ProductError(where, f"unreadable, corrupt zip member ({exc})") from None

    def gdal_path(self, rel: str) -> str:
        """A path GDAL/rasterio can open directly (``/vsizip/`` for zipped products)."""
        rel = member_path(rel)
        if self._zip is not None:
            return f"/vsizip/{self.path.resolve()}/{self.root}{rel}"
        return str(self.path / rel)

    def xml(self, rel: str) -> etree._Element:
        data = self.read(rel)
        where = self.describe(rel)
        if _DOCTYPE.match(data):
            raise ProductError(where, _DTD_REFUSED)
        try:
            root = etree.fromstring(data, parser=_PARSER)
        except etree.XMLSyntaxError as exc:
            raise ProductError(where, f"XML does not parse ({exc})") from None
        if root.getroottree().docinfo.internalDTD is not None:  # a prolog the byte check did not see (odd encoding)
            raise ProductError(where, _DTD_REFUSED)
        return root

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def member_path(rel: str) -> str:
    """A path inside a SAFE as the manifest writes it, made relative with forward slashes."""
    rel = rel.replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    return rel


# --------------------------------------------------------------------------- XML helpers


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _find(node: etree._Element, path: str) -> etree._Element | None:
    """First element matching a '/'-separated path of local names (namespaces ignored).

    A plain path starts at the children of `node`; a '//' prefix lets its first step match
    any descendant.
    """
    parts = [p for p in path.split("/") if p]
    if path.startswith("//"):
        starts = [e for e in node.iter() if _local(e.tag) == parts[0]]
        parts = parts[1:]
    else:
        starts = [node]
    for start in starts:
        current = [start]
        for part in parts:
            current = [c for n in current for c in n if _local(c.tag) == part]
            if not current:
                break
        if current:
            return current[0]
    return None


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in node if _local(c.tag) == name]


class _Reader:
    """Typed field access on one XML document, raising ProductError naming the file."""

    def __init__(self, root: etree._Element, where: str):
        self.root = root
        self.where = where

    def node(self, path: str, parent: etree._Element | None = None) -> etree._Element:
        found = _find(self.root if parent is None else parent, path)
        if found is None:
            raise ProductError(self.where, f"missing element {path.strip('/')}")
        return found

    def text(self, path: str, parent: etree._Element | None = None) -> str:
        node = self.node(path, parent)
        return (node.text or "").strip()

    def opt_text(self, path: str, parent: etree._Element | None = None) -> str | None:
        found = _find(self.root if parent is None else parent, path)
        return None if found is None or found.text is None else found.text.strip()

    def number(self, path: str, parent: etree._Element | None = None, kind=float):
        value = self.text(path, parent)
        try:
            return kind(value)
        except ValueError:
            raise ProductError(self.where, f"element {path.strip('/')} is not a number: {value!r}") from None

    def time(self, path: str, parent: etree._Element | None = None) -> dt.datetime:
        return _parse_time(self.text(path, parent), self.where, path)

    def array(self, path: str, parent: etree._Element | None = None, dtype=float) -> np.ndarray:
        node = self.node(path, parent)
        try:
            values = np.array((node.text or "").split(), dtype=dtype)
        except ValueError:
            raise ProductError(self.where, f"element {path.strip('/')} holds non-numeric values") from None
        count = self._count(node, path)
        if count is not None and count != values.size:
            raise ProductError(
                self.where, f"element {path.strip('/')} says count={count} but holds {values.size} values"
            )
        return values

    def _count(self, node: etree._Element, path: str) -> int | None:
        count = node.get("count")
        if count is None:
            return None
        try:
            return int(count)
        except ValueError:
            raise ProductError(self.where, f"element {path.strip('/')} has a non-numeric count={count!r}") from None

    def list_items(self, list_name: str, item_name: str) -> list[etree._Element]:
        lst = self.node(list_name)
        items = _children(lst, item_name)
        count = self._count(lst, list_name)
        if count is not None and count != len(items):
            missing = f": {count - len(items)} {item_name} missing" if count > len(items) else ""
            raise ProductError(
                self.where,
                f"{list_name.strip('/')} says count={count} but holds {len(items)} {item_name}{missing} "
                "(truncated or edited file; download the product again)",
            )
        return items


def _parse_time(value: str, where: str = "", what: str = "time") -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(value.rstrip("Z"))
    except ValueError:
        raise ProductError(where, f"{what.strip('/')} is not an ISO time: {value!r}") from None
    return t.replace(tzinfo=None)


def _dt64(t: dt.datetime) -> np.datetime64:
    return np.datetime64(t, "ns")


# --------------------------------------------------------------------------- data classes


@dataclasses.dataclass(frozen=True)
class PolarisationFiles:
    """Paths (relative to the SAFE folder) of one polarisation's files, as the manifest lists them."""

    annotation: str | None = None
    calibration: str | None = None
    noise: str | None = None
    measurement: str | None = None


@dataclasses.dataclass(frozen=True)
class ImageFiles:
    """One image of a product (a swath in one polarisation) and its files, as the manifest lists them.

    `key` names it in summaries: the polarisation in a GRD product, else swath/polarisation
    (with the image number where a swath has several images in a polarisation, as in wave mode).
    """

    key: str
    swath: str
    polarisation: str
    number: str
    files: PolarisationFiles


@dataclasses.dataclass(frozen=True)
class Manifest:
    name: str
    mission: str
    mode: str
    product_type: str
    product_class: str
    resolution: str
    processing_level: int | None
    ipf_version: str
    polarisations: tuple[str, ...]
    sensing_start: dt.datetime
    sensing_stop: dt.datetime
    orbit_direction: str
    relative_orbit: int
    absolute_orbit: int
    footprint: tuple[tuple[float, float], ...]  # (lon, lat) vertices
    files: dict[str, PolarisationFiles]  # polarisations with one image (all of a GRD product's)
    images: tuple[ImageFiles, ...] = ()

    @property
    def swaths(self) -> tuple[str, ...]:
        """The swaths of the images, in the manifest's order (IW for a GRD product, IW1..IW3 for an IW SLC)."""
        return tuple(dict.fromkeys(i.swath for i in self.images))

    @property
    def ipf_tuple(self) -> tuple[int, ...]:
        return _version_tuple(self.ipf_version)


@dataclasses.dataclass(frozen=True)
class CoordinateConversion:
    """One slant-range <-> ground-range polynomial set (SRGR and GRSR)."""

    azimuth_time: np.datetime64
    slant_range_time: float
    sr0: float
    srgr_coefficients: np.ndarray
    gr0: float
    grsr_coefficients: np.ndarray


@dataclasses.dataclass(frozen=True)
class Annotation:
    polarisation: str
    number_of_lines: int
    number_of_samples: int
    first_line_time: dt.datetime
    last_line_time: dt.datetime
    azimuth_time_interval: float
    slant_range_time: float
    range_pixel_spacing: float
    azimuth_pixel_spacing: float
    radar_frequency: float
    range_sampling_rate: float
    incidence_angle_mid_swath: float
    pass_direction: str
    orbit: pd.DataFrame  # time, x, y, z, vx, vy, vz
    # azimuthTime, slantRangeTime, line, pixel, latitude, longitude, height, incidenceAngle, elevationAngle
    geolocation: pd.DataFrame
    coordinate_conversion: tuple[CoordinateConversion, ...]
    thermal_noise_removed: bool = False  # processingInformation/thermalNoiseCorrectionPerformed


@dataclasses.dataclass(frozen=True)
class CalibrationVector:
    azimuth_time: np.datetime64
    line: int
    pixel: np.ndarray
    sigma_nought: np.ndarray
    beta_nought: np.ndarray
    gamma: np.ndarray
    dn: np.ndarray


@dataclasses.dataclass(frozen=True)
class Calibration:
    absolute_calibration_constant: float
    vectors: tuple[CalibrationVector, ...]


@dataclasses.dataclass(frozen=True)
class NoiseRangeVector:
    azimuth_time: np.datetime64
    line: int
    pixel: np.ndarray
    lut: np.ndarray


@dataclasses.dataclass(frozen=True)
class NoiseAzimuthVector:
    swath: str
    first_line: int
    first_sample: int
    last_line: int
    last_sample: int
    line: np.ndarray
    lut: np.ndarray


@dataclasses.dataclass(frozen=True)
class Noise:
    range_vectors: tuple[NoiseRangeVector, ...]
    azimuth_vectors: tuple[NoiseAzimuthVector, ...]  # empty before IPF 2.9


@dataclasses.dataclass(frozen=True)
class PolarisationData:
    polarisation: str
    annotation: Annotation
    calibration: Calibration
    noise: Noise
    measurement: str | None  # path relative to the SAFE folder


# --------------------------------------------------------------------------- manifest


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", version or "")
    return tuple(int(p) for p in parts) if parts else (0,)


def parse_manifest(container: SafeContainer) -> Manifest:
    where = container.describe(MANIFEST)
    r = _Reader(container.xml(MANIFEST), where)
    family = r.text("//platform/familyName")
    number = r.text("//platform/number")
    mission = ("S1" + number) if family.upper().startswith("SENTINEL-1") else f"{family}{number}"
    mode = r.text("//instrumentMode/mode")
    product_type = r.text("//standAloneProductInformation/productType")
    pols = tuple(
        (p.text or "").strip().upper()
        for p in r.node("//standAloneProductInformation").iter()
        if _local(p.tag) == "transmitterReceiverPolarisation"
    )
    if not pols:
        raise ProductError(where, "no transmitterReceiverPolarisation")

    software = [s for s in r.root.iter() if _local(s.tag) == "software" and "Sentinel-1 IPF" in (s.get("name") or "")]
    if not software:
        raise ProductError(where, "no Sentinel-1 IPF software version in the processing history")
    ipf_version = software[0].get("version") or ""

    orbit_ref = r.node("//orbitReference")
    abs_orbit = r.number("orbitNumber", orbit_ref, int)
    rel_orbit = r.number("relativeOrbitNumber", orbit_ref, int)
    direction = r.text("//orbitProperties/pass").upper()

    start = r.time("//acquisitionPeriod/startTime")
    stop = r.time("//acquisitionPeriod/stopTime")

    footprint: tuple[tuple[float, float], ...] = ()
    coords = r.opt_text("//footPrint/coordinates")
    if coords:
        try:
            pairs = [tuple(float(v) for v in c.split(",")) for c in coords.split()]
            footprint = tuple((lon, lat) for lat, lon in pairs)  # gml lists lat,lon
        except ValueError:
            raise ProductError(where, f"footprint coordinates do not parse: {coords!r}") from None

    name = container.name
    m = _PRODUCT_NAME.match(name)
    if m:
        resolution = _RESOLUTIONS.get(m["res"], m["res"])
        product_class = m["type"] + m["res"].replace("_", "")
        level = int(m["level"])
    else:
        resolution, product_class, level = "unknown", product_type, None

    images = _image_files(r, pols, product_type.upper() == GRD)
    return Manifest(
        name=name,
        mission=mission,
        mode=mode,
        product_type=product_type,
        product_class=product_class,
        resolution=resolution,
        processing_level=level,
        ipf_version=ipf_version,
        polarisations=pols,
        sensing_start=start,
        sensing_stop=stop,
        orbit_direction=direction,
        relative_orbit=rel_orbit,
        absolute_orbit=abs_orbit,
        footprint=footprint,
        files=_polarisation_files(images),
        images=images,
    )


def _image_files(r: _Reader, pols: Sequence[str], grd: bool) -> tuple[ImageFiles, ...]:
    """The images the manifest's data objects list: swath, polarisation, number and the file of each role."""
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for obj in r.root.iter():
        if _local(obj.tag) != "dataObject":
            continue
        role = _ROLES.get(obj.get("repID") or "")
        if role is None:
            continue
        loc = next((e for e in obj.iter() if _local(e.tag) == "fileLocation"), None)
        href = None if loc is None else loc.get("href")
        m = _IMAGE_NAME.search(PurePosixPath(href).name) if href else None
        if not m or not href or m["pol"].upper() not in pols:
            continue
        found.setdefault((m["swath"].upper(), m["pol"].upper(), m["number"]), {})[role] = member_path(href)
    ids = sorted(found, key=lambda k: (k[0], pols.index(k[1]), k[2]))
    per_swath_pol = {(sw, pol): sum(1 for i in ids if i[:2] == (sw, pol)) for sw, pol, _ in ids}
    images = []
    for swath, pol, number in ids:
        key = pol if grd else f"{swath}/{pol}" + (f"/{number}" if per_swath_pol[swath, pol] > 1 else "")
        images.append(ImageFiles(key, swath, pol, number, PolarisationFiles(**found[swath, pol, number])))
    return tuple(images)


def _polarisation_files(images: Sequence[ImageFiles]) -> dict[str, PolarisationFiles]:
    """The files of each polarisation that has exactly one image."""
    count = {i.polarisation: sum(1 for j in images if j.polarisation == i.polarisation) for i in images}
    return {i.polarisation: i.files for i in images if count[i.polarisation] == 1}


# --------------------------------------------------------------------------- annotation


def parse_annotation(root: etree._Element, where: str) -> Annotation:
    r = _Reader(root, where)
    info = r.node("imageAnnotation/imageInformation")
    prod = r.node("generalAnnotation/productInformation")
    pol = r.text("adsHeader/polarisation").upper()

    orbits = r.list_items("generalAnnotation/orbitList", "orbit")
    orbit = pd.DataFrame(
        {
            "time": np.array([_dt64(r.time("time", o)) for o in orbits], dtype="datetime64[ns]"),
            **{k: [r.number(f"position/{k}", o) for o in orbits] for k in ("x", "y", "z")},
            **{f"v{k}": [r.number(f"velocity/{k}", o) for o in orbits] for k in ("x", "y", "z")},
        }
    )

    points = r.list_items("geolocationGrid/geolocationGridPointList", "geolocationGridPoint")
    geo_fields = (
        "slantRangeTime",
        "line",
        "pixel",
        "latitude",
        "longitude",
        "height",
        "incidenceAngle",
        "elevationAngle",
    )
    geolocation = pd.DataFrame(
        {
            "azimuthTime": np.array([_dt64(r.time("azimuthTime", p)) for p in points], dtype="datetime64[ns]"),
            **{f: np.array([r.number(f, p) for p in points], dtype=float) for f in geo_fields},
        }
    )
    geolocation["line"] = geolocation["line"].astype(np.int64)
    geolocation["pixel"] = geolocation["pixel"].astype(np.int64)

    conversions = tuple(
        CoordinateConversion(
            azimuth_time=_dt64(r.time("azimuthTime", c)),
            slant_range_time=r.number("slantRangeTime", c),
            sr0=r.number("sr0", c),
            srgr_coefficients=r.array("srgrCoefficients", c),
            gr0=r.number("gr0", c),
            grsr_coefficients=r.array("grsrCoefficients", c),
        )
        for c in r.list_items("coordinateConversion/coordinateConversionList", "coordinateConversion")
    )

    return Annotation(
        polarisation=pol,
        number_of_lines=r.number("numberOfLines", info, int),
        number_of_samples=r.number("numberOfSamples", info, int),
        first_line_time=r.time("productFirstLineUtcTime", info),
        last_line_time=r.time("productLastLineUtcTime", info),
        azimuth_time_interval=r.number("azimuthTimeInterval", info),
        slant_range_time=r.number("slantRangeTime", info),
        range_pixel_spacing=r.number("rangePixelSpacing", info),
        azimuth_pixel_spacing=r.number("azimuthPixelSpacing", info),
        radar_frequency=r.number("radarFrequency", prod),
        range_sampling_rate=r.number("rangeSamplingRate", prod),
        incidence_angle_mid_swath=r.number("incidenceAngleMidSwath", info),
        pass_direction=r.text("pass", prod).upper(),
        orbit=orbit,
        geolocation=geolocation,
        coordinate_conversion=conversions,
        thermal_noise_removed=(
            root.findtext("imageAnnotation/processingInformation/thermalNoiseCorrectionPerformed") or ""
        )
        .strip()
        .lower()
        == "true",
    )


def parse_calibration(root: etree._Element, where: str) -> Calibration:
    r = _Reader(root, where)
    vectors = []
    for v in r.list_items("calibrationVectorList", "calibrationVector"):
        pixel = r.array("pixel", v, dtype=np.int64)
        luts = {k: r.array(k, v) for k in ("sigmaNought", "betaNought", "gamma", "dn")}
        for k, lut in luts.items():
            if lut.size != pixel.size:
                raise ProductError(
                    where,
                    f"calibration vector at line {r.text('line', v)}: {k} has {lut.size} values for "
                    f"{pixel.size} pixels",
                )
        vectors.append(
            CalibrationVector(
                azimuth_time=_dt64(r.time("azimuthTime", v)),
                line=r.number("line", v, int),
                pixel=pixel,
                sigma_nought=luts["sigmaNought"],
                beta_nought=luts["betaNought"],
                gamma=luts["gamma"],
                dn=luts["dn"],
            )
        )
    if not vectors:
        raise ProductError(
            where,
            "calibration vectors missing: calibrationVectorList holds no calibrationVector, "
            "so sigma0 cannot be calibrated; download the product again",
        )
    const = r.opt_text("calibrationInformation/absoluteCalibrationConstant")
    return Calibration(absolute_calibration_constant=float(const) if const else 1.0, vectors=tuple(vectors))


def parse_noise(root: etree._Element, where: str) -> Noise:
    """Noise vectors, in both schemas: IPF >= 2.9 (range + azimuth) and before (range only)."""
    r = _Reader(root, where)
    if _find(root, "noiseRangeVectorList") is not None:
        list_name, item, lut_name = "noiseRangeVectorList", "noiseRangeVector", "noiseRangeLut"
    elif _find(root, "noiseVectorList") is not None:
        list_name, item, lut_name = "noiseVectorList", "noiseVector", "noiseLut"
    else:
        raise ProductError(where, "no noiseRangeVectorList (IPF >= 2.9) nor noiseVectorList (older IPF)")
    ranges = []
    for v in r.list_items(list_name, item):
        pixel = r.array("pixel", v, dtype=np.int64)
        lut = r.array(lut_name, v)
        if lut.size != pixel.size:
            raise ProductError(
                where, f"noise vector at line {r.text('line', v)}: {lut.size} values for {pixel.size} pixels"
            )
        ranges.append(NoiseRangeVector(_dt64(r.time("azimuthTime", v)), r.number("line", v, int), pixel, lut))
    azimuths = []
    if _find(root, "noiseAzimuthVectorList") is not None:
        for v in r.list_items("noiseAzimuthVectorList", "noiseAzimuthVector"):
            line = r.array("line", v, dtype=np.int64)
            lut = r.array("noiseAzimuthLut", v)
            if lut.size != line.size:
                raise ProductError(where, f"noise azimuth vector: {lut.size} values for {line.size} lines")
            azimuths.append(
                NoiseAzimuthVector(
                    swath=r.opt_text("swath", v) or "",
                    first_line=r.number("firstAzimuthLine", v, int),
                    first_sample=r.number("firstRangeSample", v, int),
                    last_line=r.number("lastAzimuthLine", v, int),
                    last_sample=r.number("lastRangeSample", v, int),
                    line=line,
                    lut=lut,
                )
            )
    return Noise(range_vectors=tuple(ranges), azimuth_vectors=tuple(azimuths))


# --------------------------------------------------------------------------- product


class S1Product:
    """A Sentinel-1 SAFE product: the manifest at once, each image's XMLs on demand."""

    def __init__(self, path: str | os.PathLike | SafeContainer):
        self.container = path if isinstance(path, SafeContainer) else SafeContainer(path)
        self.path = self.container.path
        self.manifest = parse_manifest(self.container)
        self._cache: dict[str, PolarisationData] = {}

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def polarisations(self) -> tuple[str, ...]:
        return self.manifest.polarisations

    @property
    def is_grd(self) -> bool:
        """Whether this is a GRD product, the kind soilsat processes."""
        return self.manifest.product_type.upper() == GRD

    def require_grd(self) -> None:
        """ProductError naming the product type and what soilsat accepts, unless this is a GRD product."""
        if not self.is_grd:
            m = self.manifest
            raise ProductError(
                self.path,
                f"Sentinel-1 product of type {m.product_type} ({m.mode} mode, swaths "
                f"{', '.join(m.swaths) or 'none listed'}); {ACCEPTED}: use the GRD "
                "product of this acquisition",
            )

    def _complete(self, files: PolarisationFiles) -> bool:
        return all(x and self.container.exists(x) for x in (files.annotation, files.calibration, files.noise))

    @property
    def available_images(self) -> tuple[str, ...]:
        """Keys of the images whose annotation, calibration and noise XMLs are all present."""
        return tuple(i.key for i in self.manifest.images if self._complete(i.files))

    @property
    def available_polarisations(self) -> tuple[str, ...]:
        """Polarisations with at least one image whose annotation, calibration and noise XMLs are all present."""
        present = {i.polarisation for i in self.manifest.images if self._complete(i.files)}
        return tuple(p for p in self.polarisations if p in present)

    def files(self, pol: str) -> PolarisationFiles:
        """The files of a polarisation of a GRD product (ProductError for other products)."""
        pol = pol.upper()
        self.require_grd()
        if pol not in self.polarisations:
            raise ProductError(
                self.container.describe(MANIFEST),
                f"polarisation {pol} not in this product (it has {'/'.join(self.polarisations)})",
            )
        return self.manifest.files.get(pol, PolarisationFiles())

    def _image(self, key: str) -> ImageFiles:
        for image in self.manifest.images:
            if image.key == key:
                return image
        raise ProductError(
            self.container.describe(MANIFEST),
            f"lists no image {key} (it has {', '.join(i.key for i in self.manifest.images)})",
        )

    def _member(self, files: PolarisationFiles, what: str, role: str) -> str:
        rel = getattr(files, role)
        if not rel:
            raise ProductError(self.container.describe(MANIFEST), f"lists no {role} file for {what}")
        if not self.container.exists(rel):
            raise ProductError(self.container.describe(rel), f"{role} file of {what} is missing from the product")
        return rel

    def _parse(self, key: str, files: PolarisationFiles, pol: str, what: str) -> PolarisationData:
        if key in self._cache:
            return self._cache[key]
        parsed: dict[str, Any] = {}
        parsers = (("annotation", parse_annotation), ("calibration", parse_calibration), ("noise", parse_noise))
        for role, parse in parsers:
            rel = self._member(files, what, role)
            parsed[role] = parse(self.container.xml(rel), self.container.describe(rel))
        data = PolarisationData(pol, parsed["annotation"], parsed["calibration"], parsed["noise"], files.measurement)
        self._cache[key] = data
        return data

    def image(self, key: str) -> PolarisationData:
        """Annotation, calibration and noise of one image of any product, by its key (parsed once, then cached)."""
        image = self._image(key)
        return self._parse(key, image.files, image.polarisation, f"image {key}")

    def polarisation(self, pol: str) -> PolarisationData:
        """Annotation, calibration and noise of one polarisation of a GRD product (parsed once, then cached)."""
        pol = pol.upper()
        return self._parse(pol, self.files(pol), pol, f"polarisation {pol}")

    def annotation(self, pol: str) -> Annotation:
        return self.polarisation(pol).annotation

    def calibration(self, pol: str) -> Calibration:
        return self.polarisation(pol).calibration

    def noise(self, pol: str) -> Noise:
        return self.polarisation(pol).noise

    def measurement_path(self, pol: str) -> str:
        """The GDAL path of a polarisation's measurement GeoTIFF (ProductError when absent)."""
        pol = pol.upper()
        return self.container.gdal_path(self._member(self.files(pol), f"polarisation {pol}", "measurement"))

    def describe(self, rel: str) -> str:
        return self.container.describe(rel)

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> S1Product:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_product(path: str | os.PathLike) -> S1Product:
    """Open a Sentinel-1 SAFE product (a .SAFE folder or a .zip holding one)."""
    return S1Product(path)


def summarize(path: str | os.PathLike) -> dict:
    """A JSON-serialisable summary of a product and of each image present in it.

    The per-image entries are keyed by the image's key: the polarisation in a GRD product,
    swath/polarisation in others (an IW SLC has IW1/VV .. IW3/VH). An image listed in the
    manifest whose XMLs are all absent is left out of them (``available_images`` says which
    are in); one with some but not all of its annotation/calibration/noise XMLs raises
    ProductError. ``processed`` says whether soilsat processes such a product, and ``note``
    why not.
    """
    with open_product(path) as product:
        m = product.manifest
        available = product.available_images
        out: dict = {
            "product": m.name,
            "mission": m.mission,
            "mode": m.mode,
            "product_type": m.product_type,
            "product_class": m.product_class,
            "resolution": m.resolution,
            "processing_level": m.processing_level,
            "ipf_version": m.ipf_version,
            "polarisations": list(m.polarisations),
            "swaths": list(m.swaths),
            "images": [i.key for i in m.images],
            "available_polarisations": list(product.available_polarisations),
            "available_images": list(available),
            "processed": product.is_grd,
            "sensing_start": m.sensing_start.isoformat(),
            "sensing_stop": m.sensing_stop.isoformat(),
            "orbit_direction": m.orbit_direction,
            "relative_orbit": m.relative_orbit,
            "absolute_orbit": m.absolute_orbit,
            "footprint": [[lon, lat] for lon, lat in m.footprint],
            "image_size": {},
            "calibration_vectors": {},
            "noise_range_vectors": {},
            "noise_azimuth_vectors": {},
            "orbit_state_vectors": {},
            "geolocation_points": {},
            "measurement": {},
        }
        if not product.is_grd:
            out["note"] = f"product type {m.product_type}: described image by image, not processed; {ACCEPTED}"
        for image in m.images:
            if image.key not in available:
                f = image.files
                if any(x and product.container.exists(x) for x in (f.annotation, f.calibration, f.noise)):
                    product.image(image.key)  # partly present: raises, naming the missing file
                continue  # wholly absent (a trimmed or partial copy): reported as unavailable
            data = product.image(image.key)
            key = image.key
            out["image_size"][key] = {
                "lines": data.annotation.number_of_lines,
                "samples": data.annotation.number_of_samples,
            }
            out["calibration_vectors"][key] = len(data.calibration.vectors)
            out["noise_range_vectors"][key] = len(data.noise.range_vectors)
            out["noise_azimuth_vectors"][key] = len(data.noise.azimuth_vectors)
            out["orbit_state_vectors"][key] = len(data.annotation.orbit)
            out["geolocation_points"][key] = len(data.annotation.geolocation)
            rel = data.measurement
            out["measurement"][key] = {
                "file": PurePosixPath(rel).name if rel else None,
                "present": bool(rel and product.container.exists(rel)),
            }
        return out
