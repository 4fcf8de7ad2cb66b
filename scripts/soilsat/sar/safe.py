"""Reading Sentinel-1 GRD products in the SAFE format, as a folder or a zip holding one.

The reader works on ESA's own metadata: the manifest (``manifest.safe``) and, per
polarisation, the product annotation, calibration and noise XMLs under ``annotation/``.
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
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from lxml import etree

from soilsat.errors import ProductError

MANIFEST = "manifest.safe"

# repID of the manifest's data objects -> the role of the file in this reader
_ROLES = {
    "s1Level1ProductSchema": "annotation",
    "s1Level1CalibrationSchema": "calibration",
    "s1Level1NoiseSchema": "noise",
    "s1Level1MeasurementSchema": "measurement",
}
_POL_IN_NAME = re.compile(r"-(hh|hv|vv|vh)-", re.IGNORECASE)
_PRODUCT_NAME = re.compile(
    r"^(?P<mission>S1[A-D])_(?P<mode>[A-Z0-9]{2})_(?P<type>[A-Z]{3})(?P<res>[FHM_])_"
    r"(?P<level>\d)(?P<cls>[SA])(?P<pol>[A-Z]{2})_"
)
_RESOLUTIONS = {"F": "full", "H": "high", "M": "medium", "_": "not applicable"}

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)
# A document type declaration (with its entities) ahead of the root element. ESA's metadata never
# has one, and refusing it outright stops external entities (XXE) and entity expansion
# ("billion laughs") before lxml sees them.
_DOCTYPE = re.compile(rb"^(\xef\xbb\xbf)?\s*(<\?xml[^>]*\?>)?\s*(<!--.*?-->\s*|<\?.*?\?>\s*)*<!DOCTYPE", re.S)
_DTD_REFUSED = ("XML declares a DTD (<!DOCTYPE>, entity declarations: external entities or entity expansion), "
                "which Sentinel-1 metadata never does; refused. The file is not ESA's: download the product again")


# --------------------------------------------------------------------------- containers


class SafeContainer:
    """Read access to the files of one SAFE product, folder or zip, by relative path."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self.root = ""  # the .SAFE folder inside the zip, with a trailing slash
        if not self.path.exists():
            raise ProductError(self.path, "no such file or folder")
        if self.path.is_dir():
            if not (self.path / MANIFEST).is_file():
                raise ProductError(self.path, f"not a SAFE product: no {MANIFEST} in the folder")
            return
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ProductError(self.path, f"not a readable zip file ({exc}); truncated or corrupt download?") from None
        manifests = sorted(
            n for n in self._zip.namelist() if PurePosixPath(n).name == MANIFEST and n.count("/") <= 1
        )
        if not manifests:
            raise ProductError(self.path, f"not a SAFE product: no {MANIFEST} in the zip")
        self.root = manifests[0][: -len(MANIFEST)]

    @property
    def name(self) -> str:
        """The product name, without .SAFE / .zip."""
        base = self.root.rstrip("/") if self._zip is not None else self.path.name
        if not base:
            base = self.path.name
        for suffix in (".zip", ".SAFE", ".safe"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        return base

    def describe(self, rel: str) -> str:
        """How to name a member in messages: the file, or zip!member."""
        rel = _clean_rel(rel)
        if self._zip is not None:
            return f"{self.path}!{self.root}{rel}"
        return str(self.path / rel)

    def exists(self, rel: str) -> bool:
        rel = _clean_rel(rel)
        if self._zip is not None:
            try:
                self._zip.getinfo(self.root + rel)
                return True
            except KeyError:
                return False
        return (self.path / rel).is_file()

    def read(self, rel: str) -> bytes:
        rel = _clean_rel(rel)
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
        rel = _clean_rel(rel)
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


def _clean_rel(rel: str) -> str:
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
                self.where, f"{list_name.strip('/')} says count={count} but holds {len(items)} {item_name}{missing} "
                            "(truncated or edited file; download the product again)"
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
    files: dict[str, PolarisationFiles]

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

    software = [
        s for s in r.root.iter() if _local(s.tag) == "software" and "Sentinel-1 IPF" in (s.get("name") or "")
    ]
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

    files = _polarisation_files(r, pols)
    return Manifest(
        name=name, mission=mission, mode=mode, product_type=product_type, product_class=product_class,
        resolution=resolution, processing_level=level, ipf_version=ipf_version, polarisations=pols,
        sensing_start=start, sensing_stop=stop, orbit_direction=direction, relative_orbit=rel_orbit,
        absolute_orbit=abs_orbit, footprint=footprint, files=files,
    )


def _polarisation_files(r: _Reader, pols: Sequence[str]) -> dict[str, PolarisationFiles]:
    found: dict[str, dict[str, str]] = {p: {} for p in pols}
    for obj in r.root.iter():
        if _local(obj.tag) != "dataObject":
            continue
        role = _ROLES.get(obj.get("repID") or "")
        if role is None:
            continue
        loc = next((e for e in obj.iter() if _local(e.tag) == "fileLocation"), None)
        href = None if loc is None else loc.get("href")
        if not href:
            continue
        m = _POL_IN_NAME.search(PurePosixPath(href).name)
        if not m:
            continue
        pol = m.group(1).upper()
        if pol in found:
            found[pol][role] = _clean_rel(href)
    return {p: PolarisationFiles(**f) for p, f in found.items()}


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
    geo_fields = ("slantRangeTime", "line", "pixel", "latitude", "longitude", "height", "incidenceAngle", "elevationAngle")
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
                    where, f"calibration vector at line {r.text('line', v)}: {k} has {lut.size} values for {pixel.size} pixels"
                )
        vectors.append(
            CalibrationVector(
                azimuth_time=_dt64(r.time("azimuthTime", v)), line=r.number("line", v, int), pixel=pixel,
                sigma_nought=luts["sigmaNought"], beta_nought=luts["betaNought"], gamma=luts["gamma"], dn=luts["dn"],
            )
        )
    if not vectors:
        raise ProductError(where, "calibration vectors missing: calibrationVectorList holds no calibrationVector, "
                                  "so sigma0 cannot be calibrated; download the product again")
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
            raise ProductError(where, f"noise vector at line {r.text('line', v)}: {lut.size} values for {pixel.size} pixels")
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
                    swath=r.opt_text("swath", v) or "", first_line=r.number("firstAzimuthLine", v, int),
                    first_sample=r.number("firstRangeSample", v, int), last_line=r.number("lastAzimuthLine", v, int),
                    last_sample=r.number("lastRangeSample", v, int), line=line, lut=lut,
                )
            )
    return Noise(range_vectors=tuple(ranges), azimuth_vectors=tuple(azimuths))


# --------------------------------------------------------------------------- product


class S1Product:
    """A Sentinel-1 SAFE product: the manifest at once, each polarisation's XMLs on demand."""

    def __init__(self, path: str | os.PathLike):
        self.container = SafeContainer(path)
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
    def available_polarisations(self) -> tuple[str, ...]:
        """Polarisations whose annotation, calibration and noise XMLs are all present."""
        out = []
        for pol in self.polarisations:
            f = self.manifest.files.get(pol)
            if f and all(x and self.container.exists(x) for x in (f.annotation, f.calibration, f.noise)):
                out.append(pol)
        return tuple(out)

    def files(self, pol: str) -> PolarisationFiles:
        pol = pol.upper()
        if pol not in self.polarisations:
            raise ProductError(
                self.container.describe(MANIFEST),
                f"polarisation {pol} not in this product (it has {'/'.join(self.polarisations)})",
            )
        return self.manifest.files.get(pol, PolarisationFiles())

    def _member(self, pol: str, role: str) -> str:
        rel = getattr(self.files(pol), role)
        if not rel:
            raise ProductError(self.container.describe(MANIFEST), f"lists no {role} file for polarisation {pol.upper()}")
        if not self.container.exists(rel):
            raise ProductError(
                self.container.describe(rel), f"{role} file of polarisation {pol.upper()} is missing from the product"
            )
        return rel

    def polarisation(self, pol: str) -> PolarisationData:
        """Annotation, calibration and noise of one polarisation (parsed once, then cached)."""
        pol = pol.upper()
        if pol in self._cache:
            return self._cache[pol]
        parsed = {}
        for role, parse in (("annotation", parse_annotation), ("calibration", parse_calibration), ("noise", parse_noise)):
            rel = self._member(pol, role)
            parsed[role] = parse(self.container.xml(rel), self.container.describe(rel))
        data = PolarisationData(pol, parsed["annotation"], parsed["calibration"], parsed["noise"], self.files(pol).measurement)
        self._cache[pol] = data
        return data

    def annotation(self, pol: str) -> Annotation:
        return self.polarisation(pol).annotation

    def calibration(self, pol: str) -> Calibration:
        return self.polarisation(pol).calibration

    def noise(self, pol: str) -> Noise:
        return self.polarisation(pol).noise

    def measurement_path(self, pol: str) -> str:
        """The GDAL path of a polarisation's measurement GeoTIFF (ProductError when absent)."""
        return self.container.gdal_path(self._member(pol, "measurement"))

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
    """A JSON-serialisable summary of a product and of each polarisation present in it.

    A polarisation listed in the manifest whose XMLs are all absent is left out of the
    per-polarisation entries (``available_polarisations`` says which are in); one with some
    but not all of its annotation/calibration/noise XMLs raises ProductError.
    """
    with open_product(path) as product:
        m = product.manifest
        available = product.available_polarisations
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
            "available_polarisations": list(available),
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
        for pol in m.polarisations:
            if pol not in available:
                f = m.files.get(pol, PolarisationFiles())
                if any(x and product.container.exists(x) for x in (f.annotation, f.calibration, f.noise)):
                    product.polarisation(pol)  # partly present: raises, naming the missing file
                continue  # wholly absent (a trimmed or partial copy): reported as unavailable
            data = product.polarisation(pol)
            out["image_size"][pol] = {"lines": data.annotation.number_of_lines, "samples": data.annotation.number_of_samples}
            out["calibration_vectors"][pol] = len(data.calibration.vectors)
            out["noise_range_vectors"][pol] = len(data.noise.range_vectors)
            out["noise_azimuth_vectors"][pol] = len(data.noise.azimuth_vectors)
            out["orbit_state_vectors"][pol] = len(data.annotation.orbit)
            out["geolocation_points"][pol] = len(data.annotation.geolocation)
            rel = data.measurement
            out["measurement"][pol] = {"file": PurePosixPath(rel).name if rel else None,
                                       "present": bool(rel and product.container.exists(rel))}
        return out
