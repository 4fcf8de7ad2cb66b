"""The SAFE layout of a demo Sentinel-1 GRD product: ESA naming, the manifest, annotation, calibration and
noise XMLs in ESA's schema, the uint16 measurement GeoTIFF with GCPs, and the zip as the archive delivers it.

The manifest's text is the template templates/sentinel1_manifest.xml; the other XMLs are built element by element.
"""

from __future__ import annotations

import dataclasses
import hashlib
import string
import warnings
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import rasterio.errors
from lxml import etree
from rasterio.control import GroundControlPoint

from soilsat.demo import orbit as orb
from soilsat.demo.sentinel1_pass import (
    PIXEL_SPACING,
    POLARISATIONS,
    PassGeometry,
    geolocation_grid_indices,
    slant_range_of,
)

PLATFORM = "S1A"
IPF_VERSION = "003.40"
RADAR_FREQUENCY = 5.405e9
RANGE_SAMPLING_RATE = 6.434523812571428e07
DN_CONSTANT = 4.0e02
ABSOLUTE_CALIBRATION_CONSTANT = 1.0
# Reference for absolute orbit numbers: S1A's orbit near the start of 2020.
ORBIT_REFERENCE = (pd.Timestamp("2020-01-01"), 30582)
ORBITS_PER_CYCLE = 175
REPEAT_DAYS = 12
MANIFEST_TEMPLATE = "sentinel1_manifest.xml"


def template_text(name: str) -> str:
    """The text of an XML template shipped in soilsat/demo/templates."""
    return resources.files("soilsat.demo").joinpath("templates", name).read_text(encoding="utf-8")


def absolute_orbit(relative_orbit: int, when: pd.Timestamp) -> int:
    """The S1A absolute orbit number of a relative orbit near a date (relative = (abs - 73) % 175 + 1)."""
    ref_day, ref_orbit = ORBIT_REFERENCE
    approx = ref_orbit + (pd.Timestamp(when) - ref_day) / pd.Timedelta(days=REPEAT_DAYS) * ORBITS_PER_CYCLE
    base = int(round(approx))
    offset = ((relative_orbit - 1) - (base - 73)) % ORBITS_PER_CYCLE
    if offset > ORBITS_PER_CYCLE // 2:
        offset -= ORBITS_PER_CYCLE
    return base + offset


def _iso(t: np.datetime64 | np.ndarray) -> str:
    """ISO 8601 time with microseconds and no zone, as in ESA annotations."""
    return str(np.datetime_as_string(np.datetime64(t, "us"), unit="us"))  # type: ignore[call-overload]  # numpy's stub refuses a datetime64 with a unit


def _compact(t: np.datetime64 | np.ndarray) -> str:
    """YYYYMMDDTHHMMSS of a time."""
    return pd.Timestamp(t).strftime("%Y%m%dT%H%M%S")


def _f(x: float) -> str:
    """A double as ESA annotations write it."""
    return f"{x:.15e}"


def _join(values: npt.ArrayLike, fmt: str = "{:.6e}") -> str:
    """Space-separated values of an annotation list."""
    return " ".join(fmt.format(v) for v in np.asarray(values).ravel())


def _el(parent: etree._Element, tag: str, text: object | None = None, **attrib: object) -> etree._Element:
    """Append a child element with optional text and attributes."""
    e = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        e.text = str(text)
    return e


def _tostring(root: etree._Element) -> bytes:
    """Serialise an XML tree with its declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclasses.dataclass
class ProductInfo:
    """Identity and timing of one product."""

    name: str
    stem: dict[str, str]
    index: int
    date: pd.Timestamp
    orbit: orb.Orbit
    geometry: PassGeometry
    absolute_orbit: int
    relative_orbit: int
    datatake: int
    stats: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)

    def time(self, t: float | np.ndarray) -> np.ndarray:
        """datetime64 of seconds since this product's orbit epoch."""
        return self.orbit.datetimes(t)


def product_info(g: PassGeometry, day: pd.Timestamp, relative_orbit: int, index: int) -> ProductInfo:
    """Identity and timing of the product of a pass on one day: orbit, absolute orbit, datatake and names."""
    shift = (day - g.reference_date.normalize()).days
    orbit = g.orbit.shifted(shift)
    start, stop = orbit.datetimes(g.t_first), orbit.datetimes(g.t_last)
    absolute = absolute_orbit(relative_orbit, pd.Timestamp(start))
    datatake = absolute * 7 + (2 if g.direction == "ASCENDING" else 5)
    stems = {}
    for k, pol in enumerate(POLARISATIONS, start=1):
        stems[pol] = (
            f"{PLATFORM.lower()}-iw-grd-{pol.lower()}-{_compact(start).lower()}-{_compact(stop).lower()}"
            f"-{absolute:06d}-{datatake:06x}-{k:03d}"
        )
    return ProductInfo(
        name=product_name(start, stop, absolute, datatake),
        stem=stems,
        index=index,
        date=day,
        orbit=orbit,
        geometry=g,
        absolute_orbit=absolute,
        relative_orbit=relative_orbit,
        datatake=datatake,
    )


def _ads_header(root: etree._Element, p: ProductInfo, pol: str, image_number: int) -> None:
    """Append the adsHeader shared by the annotation, calibration and noise XMLs."""
    g = p.geometry
    h = _el(root, "adsHeader")
    _el(h, "missionId", PLATFORM)
    _el(h, "productType", "GRD")
    _el(h, "polarisation", pol)
    _el(h, "mode", "IW")
    _el(h, "swath", "IW")
    _el(h, "startTime", _iso(p.time(g.t_first)))
    _el(h, "stopTime", _iso(p.time(g.t_last)))
    _el(h, "absoluteOrbitNumber", p.absolute_orbit)
    _el(h, "missionDataTakeId", p.datatake)
    _el(h, "imageNumber", f"{image_number:03d}")


def annotation_xml(p: ProductInfo, pol: str, image_number: int) -> bytes:
    """The product annotation of one polarisation."""
    g = p.geometry
    root = etree.Element("product")
    _ads_header(root, p, pol, image_number)
    quality = _el(root, "qualityInformation")
    _el(quality, "productQualityIndex", _f(0.0))
    _el(quality, "qualityDataList", count=0)
    general = _el(root, "generalAnnotation")
    info = _el(general, "productInformation")
    _el(info, "pass", g.direction.capitalize())
    _el(info, "timelinessCategory", "NRT-3h")
    _el(info, "platformHeading", _f(g.heading))
    _el(info, "projection", "Ground Range")
    _el(info, "rangeSamplingRate", _f(RANGE_SAMPLING_RATE))
    _el(info, "radarFrequency", _f(RADAR_FREQUENCY))
    _el(info, "azimuthSteeringRate", _f(1.59))
    _el(general, "downlinkInformationList", count=0)
    orbits = _el(general, "orbitList", count=len(p.orbit.time))
    for t, pos, vel in zip(p.orbit.time, p.orbit.position, p.orbit.velocity):
        o = _el(orbits, "orbit")
        _el(o, "time", _iso(p.time(t)))
        _el(o, "frame", "Earth Fixed")
        ep = _el(o, "position")
        for axis, v in zip("xyz", pos):
            _el(ep, axis, _f(v))
        ev = _el(o, "velocity")
        for axis, v in zip("xyz", vel):
            _el(ev, axis, _f(v))
    for tag in ("attitudeList", "rawDataAnalysisList", "replicaInformationList", "noiseList"):
        _el(general, tag, count=0)
    th_list = _el(general, "terrainHeightList", count=2)
    for t in (g.t_first - 1.0, g.t_last + 1.0):
        th = _el(th_list, "terrainHeight")
        _el(th, "azimuthTime", _iso(p.time(t)))
        _el(th, "value", _f(g.terrain_height))
    fm_list = _el(general, "azimuthFmRateList", count=len(g.conversion_times))
    wavelength = orb.SPEED_OF_LIGHT / RADAR_FREQUENCY
    for t in g.conversion_times:
        pos, vel = p.orbit.interpolate(t)
        tau0 = 2 * g.range_near / orb.SPEED_OF_LIGHT
        # Azimuth FM rate -2 V^2 / (lambda R), with R = c tau / 2, as a polynomial in (tau - tau0).
        k0 = -2 * float(vel @ vel) * 0.88 / (wavelength * g.range_near)
        fm = _el(fm_list, "azimuthFmRate")
        _el(fm, "azimuthTime", _iso(p.time(t)))
        _el(fm, "t0", _f(tau0))
        _el(fm, "azimuthFmRatePolynomial", _join([k0, -k0 / tau0, k0 / tau0**2], "{:.15e}"), count=3)

    image = _el(root, "imageAnnotation")
    ii = _el(image, "imageInformation")
    _el(ii, "productFirstLineUtcTime", _iso(p.time(g.t_first)))
    _el(ii, "productLastLineUtcTime", _iso(p.time(g.t_last)))
    _el(ii, "ascendingNodeTime", _iso(p.time(p.orbit.ascending_node_time)))
    _el(ii, "anchorTime", _iso(p.time(g.t_first - 1.0)))
    _el(ii, "productComposition", "Slice")
    _el(ii, "sliceNumber", 1)
    sl = _el(ii, "sliceList", count=1)
    s = _el(sl, "slice")
    _el(s, "sliceNumber", 1)
    _el(s, "sensingStartTime", _iso(p.time(g.t_first - 1.0)))
    _el(s, "sensingStopTime", _iso(p.time(g.t_last + 1.0)))
    _el(ii, "slantRangeTime", _f(2 * g.range_near / orb.SPEED_OF_LIGHT))
    _el(ii, "pixelValue", "Detected")
    _el(ii, "outputPixels", "16 bit Unsigned Integer")
    _el(ii, "rangePixelSpacing", f"{PIXEL_SPACING:.6e}")
    _el(ii, "azimuthPixelSpacing", f"{PIXEL_SPACING:.6e}")
    _el(ii, "azimuthTimeInterval", _f(g.dt))
    _el(ii, "azimuthFrequency", _f(1.0 / g.dt))
    _el(ii, "numberOfSamples", g.n_samples)
    _el(ii, "numberOfLines", g.n_lines)
    _el(ii, "zeroDopMinusAcqTime", _f(0.0))
    _el(ii, "incidenceAngleMidSwath", _f(float(g.incidence[g.n_lines // 2, g.n_samples // 2])))
    stats = _el(ii, "imageStatistics")
    for tag, stat in (("outputDataMean", p.stats[pol][0]), ("outputDataStdDev", p.stats[pol][1])):
        e = _el(stats, tag)
        _el(e, "re", f"{stat:.6e}")
        _el(e, "im", f"{0.0:.6e}")
    proc = _el(image, "processingInformation")
    for tag, value in [
        ("rawDataAnalysisUsed", "true"),
        ("orbitDataFileUsed", "true"),
        ("attitudeDataFileUsed", "false"),
        ("rxVariationCorrectionApplied", "true"),
        ("antennaElevationPatternApplied", "true"),
        ("antennaAzimuthPatternApplied", "true"),
        ("antennaAzimuthElementPatternApplied", "true"),
        ("dcMethod", "Data Analysis"),
        ("dcInputData", "Range Compressed"),
        ("rangeSpreadingLossCompensationApplied", "true"),
        ("srgrConversionApplied", "true"),
        ("detectionPerformed", "true"),
        ("thermalNoiseCorrectionPerformed", "false"),
    ]:
        _el(proc, tag, value)
    for tag, value in [
        ("rfiMitigationPerformed", "Never"),
        ("rfiMitigationDomain", "TimeAndFrequency"),
        ("chirpSource", "Nominal"),
        ("pgSource", "Extracted"),
        ("rrfSpectrum", "Extended Tapered"),
        ("applicationLutId", "IW_Default"),
    ]:
        _el(proc, tag, value)
    _el(proc, "swathProcParamsList", count=0)
    _el(proc, "inputDimensionsList", count=0)
    _el(proc, "referenceRange", _f(8.0e5))
    _el(proc, "ellipsoidName", "WGS84")
    _el(proc, "ellipsoidSemiMajorAxis", _f(orb.WGS84_A))
    _el(proc, "ellipsoidSemiMinorAxis", _f(orb.WGS84_B))
    _el(proc, "bistaticDelayCorrectionApplied", "true")
    _el(proc, "topsFilterConvention", "Only Echo Lines")
    _el(proc, "orbitSource", "Auxiliary")
    _el(proc, "attitudeSource", "Downlink")
    _el(_el(root, "dopplerCentroid"), "dcEstimateList", count=0)
    _el(_el(root, "antennaPattern"), "antennaPatternList", count=0)

    timing = _el(root, "swathTiming")
    _el(timing, "linesPerBurst", 0)
    _el(timing, "samplesPerBurst", 0)
    _el(timing, "burstList", count=0)

    geo = _el(root, "geolocationGrid")
    lines, pixels = geolocation_grid_indices(g.n_lines, g.n_samples)
    gpl = _el(geo, "geolocationGridPointList", count=len(lines) * len(pixels))
    elevation = orb.look_angle(
        p.orbit,
        g.line_times()[lines][:, None],
        g.lon[np.ix_(lines, pixels)],
        g.lat[np.ix_(lines, pixels)],
        g.height[np.ix_(lines, pixels)],
    )
    t_lines = g.line_times()
    for a, line in enumerate(lines):
        for b, pixel in enumerate(pixels):
            gp = _el(gpl, "geolocationGridPoint")
            # Slant range of the grid point from the polynomials, as the image was formed.
            sr = slant_range_of(
                g.conversion_times, g.grsr, t_lines[line : line + 1], np.array([pixel * PIXEL_SPACING])
            )[0, 0]
            _el(gp, "azimuthTime", _iso(p.time(t_lines[line])))
            _el(gp, "slantRangeTime", _f(2 * sr / orb.SPEED_OF_LIGHT))
            _el(gp, "line", line)
            _el(gp, "pixel", pixel)
            _el(gp, "latitude", _f(g.lat[line, pixel]))
            _el(gp, "longitude", _f(g.lon[line, pixel]))
            _el(gp, "height", _f(g.height[line, pixel]))
            _el(gp, "incidenceAngle", _f(g.incidence[line, pixel]))
            _el(gp, "elevationAngle", _f(elevation[a, b]))

    cc = _el(root, "coordinateConversion")
    ccl = _el(cc, "coordinateConversionList", count=len(g.conversion_times))
    for t, c_sg, c_gs in zip(g.conversion_times, g.srgr, g.grsr):
        e = _el(ccl, "coordinateConversion")
        _el(e, "azimuthTime", _iso(p.time(t)))
        _el(e, "slantRangeTime", _f(2 * g.range_near / orb.SPEED_OF_LIGHT))
        _el(e, "sr0", _f(g.range_near))
        _el(e, "srgrCoefficients", _join(c_sg, "{:.15e}"), count=len(c_sg))
        _el(e, "gr0", _f(0.0))
        _el(e, "grsrCoefficients", _join(c_gs, "{:.15e}"), count=len(c_gs))

    merging = _el(root, "swathMerging")
    sml = _el(merging, "swathMergeList", count=1)
    sm = _el(sml, "swathMerge")
    _el(sm, "swath", "IW2")
    sbl = _el(sm, "swathBoundsList", count=1)
    sb = _el(sbl, "swathBounds")
    _el(sb, "azimuthTime", _iso(p.time(g.t_first)))
    _el(sb, "firstAzimuthLine", 0)
    _el(sb, "firstRangeSample", 0)
    _el(sb, "lastAzimuthLine", g.n_lines - 1)
    _el(sb, "lastRangeSample", g.n_samples - 1)
    return _tostring(root)


def calibration_xml(p: ProductInfo, pol: str, image_number: int) -> bytes:
    """The calibration annotation (sigma0, beta0, gamma0 and dn LUTs) of one polarisation."""
    g = p.geometry
    root = etree.Element("calibration")
    _ads_header(root, p, pol, image_number)
    ci = _el(root, "calibrationInformation")
    _el(ci, "absoluteCalibrationConstant", f"{ABSOLUTE_CALIBRATION_CONSTANT:.6e}")
    cvl = _el(root, "calibrationVectorList", count=len(g.lut_lines))
    t_lines = g.line_times()
    n = len(g.lut_pixels)
    for k, line in enumerate(g.lut_lines):
        v = _el(cvl, "calibrationVector")
        _el(v, "azimuthTime", _iso(p.time(t_lines[line])))
        _el(v, "line", line)
        _el(v, "pixel", _join(g.lut_pixels, "{:d}"), count=n)
        _el(v, "sigmaNought", _join(g.sigma_lut[k]), count=n)
        _el(v, "betaNought", _join(g.beta_lut[k]), count=n)
        _el(v, "gamma", _join(g.gamma_lut[k]), count=n)
        _el(v, "dn", _join(np.full(n, DN_CONSTANT)), count=n)
    return _tostring(root)


def noise_xml(p: ProductInfo, pol: str, image_number: int) -> bytes:
    """The thermal-noise annotation in the IPF >= 2.9 layout (range and azimuth vectors)."""
    g = p.geometry
    root = etree.Element("noise")
    _ads_header(root, p, pol, image_number)
    nrl = _el(root, "noiseRangeVectorList", count=len(g.lut_lines))
    t_lines = g.line_times()
    n = len(g.lut_pixels)
    for k, line in enumerate(g.lut_lines):
        v = _el(nrl, "noiseRangeVector")
        _el(v, "azimuthTime", _iso(p.time(t_lines[line])))
        _el(v, "line", line)
        _el(v, "pixel", _join(g.lut_pixels, "{:d}"), count=n)
        _el(v, "noiseRangeLut", _join(g.noise_range_lut[pol][k]), count=n)
    nal = _el(root, "noiseAzimuthVectorList", count=1)
    v = _el(nal, "noiseAzimuthVector")
    _el(v, "swath", "IW2")
    _el(v, "firstAzimuthLine", 0)
    _el(v, "firstRangeSample", 0)
    _el(v, "lastAzimuthLine", g.n_lines - 1)
    _el(v, "lastRangeSample", g.n_samples - 1)
    _el(v, "line", _join(g.noise_az_lines, "{:d}"), count=len(g.noise_az_lines))
    _el(v, "noiseAzimuthLut", _join(g.noise_az_lut), count=len(g.noise_az_lut))
    return _tostring(root)


def measurement_tiff(dn: np.ndarray, p: ProductInfo, pol: str) -> bytes:
    """A uint16 GeoTIFF of the DN with GCPs (lon, lat, height in EPSG:4326) at the geolocation grid."""
    g = p.geometry
    lines, pixels = geolocation_grid_indices(g.n_lines, g.n_samples)
    gcps = [
        GroundControlPoint(
            row=float(line),
            col=float(pixel),
            x=float(g.lon[line, pixel]),
            y=float(g.lat[line, pixel]),
            z=float(g.height[line, pixel]),
            id=str(i + 1),
        )
        for i, (line, pixel) in enumerate((a, b) for a in lines for b in pixels)
    ]
    with rasterio.MemoryFile() as mem, warnings.catch_warnings():
        # A measurement TIFF is georeferenced by GCPs only, set just after creation.
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with mem.open(driver="GTiff", width=g.n_samples, height=g.n_lines, count=1, dtype="uint16") as dst:
            dst.write(dn, 1)
            dst.gcps = (gcps, rasterio.crs.CRS.from_epsg(4326))
            dst.update_tags(
                TIFFTAG_IMAGEDESCRIPTION=f"Sentinel-1A IW GRD HR L1 {pol}",
                TIFFTAG_SOFTWARE=f"Sentinel-1 IPF {IPF_VERSION}",
            )
        return mem.read()


def footprint_corners(g: PassGeometry) -> list[tuple[float, float]]:
    """(lon, lat) of the image corners: first line near/far, last line far/near."""
    corners = [(0, 0), (0, g.n_samples - 1), (g.n_lines - 1, g.n_samples - 1), (g.n_lines - 1, 0)]
    return [(float(g.lon[a, b]), float(g.lat[a, b])) for a, b in corners]


def manifest_xml(p: ProductInfo, files: dict[str, bytes], repids: dict[str, tuple[str, str, str]]) -> bytes:
    """manifest.safe: package map, metadata (platform, orbit, product, period, footprint) and the data objects."""
    g = p.geometry
    start, stop = p.time(g.t_first), p.time(g.t_last)
    anx = p.time(p.orbit.ascending_node_time)
    ms_since_anx = lambda t: (np.datetime64(t, "ns") - np.datetime64(anx, "ns")).astype(np.int64) / 1e6  # type: ignore[call-overload]  # noqa: E731  # numpy's stub refuses a datetime64 array with a unit
    footprint = " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in footprint_corners(g))
    units, meta_objects, data_objects = [], [], []
    for href, (object_id, rep_id, unit_type) in repids.items():
        data = files[href]
        if unit_type == "Metadata Unit":
            units.append(
                f'      <xfdu:contentUnit unitType="Metadata Unit" repID="{rep_id}">\n'
                f'        <dataObjectPointer dataObjectID="{object_id}"/>\n      </xfdu:contentUnit>'
            )
            meta_objects.append(
                f'    <metadataObject ID="{object_id}Annotation" classification="DESCRIPTION" '
                f'category="DMD">\n      <dataObjectPointer dataObjectID="{object_id}"/>\n'
                "    </metadataObject>"
            )
        mime = "application/octet-stream" if href.endswith(".tiff") else "text/xml"
        data_objects.append(
            f'    <dataObject ID="{object_id}" repID="{rep_id}">\n'
            f'      <byteStream mimeType="{mime}" size="{len(data)}">\n'
            f'        <fileLocation locatorType="URL" href="./{href}"/>\n'
            f'        <checksum checksumName="MD5">{hashlib.md5(data).hexdigest()}</checksum>\n'
            f"      </byteStream>\n    </dataObject>"
        )
    for href, (object_id, rep_id, unit_type) in repids.items():
        if unit_type == "Measurement Data Unit":
            dmd = " ".join(f"{prefix}{object_id}Annotation" for prefix in ("product", "noise", "calibration")) + " "
            units.append(
                f'      <xfdu:contentUnit unitType="Measurement Data Unit" repID="{rep_id}" dmdID="{dmd}">\n'
                f'        <dataObjectPointer dataObjectID="{object_id}"/>\n      </xfdu:contentUnit>'
            )
    tag = "s1sarl1:transmitterReceiverPolarisation"
    pols = "\n".join(f"            <{tag}>{pol}</{tag}>" for pol in POLARISATIONS)
    processed = pd.Timestamp(stop) + pd.Timedelta(minutes=41, seconds=17)
    values = {
        "content_units": "\n".join(units),
        "metadata_objects": "\n".join(meta_objects),
        "processing_start": _iso(processed.to_datetime64()),
        "processing_stop": _iso((processed + pd.Timedelta(minutes=6)).to_datetime64()),
        "ipf_version": IPF_VERSION,
        "absolute_orbit": p.absolute_orbit,
        "relative_orbit": p.relative_orbit,
        "cycle": (p.absolute_orbit - 73) // ORBITS_PER_CYCLE + 1,
        "pass_direction": g.direction,
        "ascending_node_time": _iso(anx),
        "datatake": p.datatake,
        "polarisations": pols,
        "segment_start": _iso(p.time(g.t_first - 1.0)),
        "start": _iso(start),
        "stop": _iso(stop),
        "start_anx": f"{ms_since_anx(start):.6e}",
        "stop_anx": f"{ms_since_anx(stop):.6e}",
        "footprint": footprint,
        "data_objects": "\n".join(data_objects),
    }
    return string.Template(template_text(MANIFEST_TEMPLATE)).substitute(values).encode("utf-8")


def product_name(
    start: np.datetime64 | np.ndarray, stop: np.datetime64 | np.ndarray, absolute: int, datatake: int
) -> str:
    """ESA product name S1A_IW_GRDH_1SDV_<start>_<stop>_<orbit>_<datatake>_<unique id>."""
    prefix = f"{PLATFORM}_IW_GRDH_1SDV_{_compact(start)}_{_compact(stop)}_{absolute:06d}_{datatake:06X}"
    return f"{prefix}_{hashlib.md5(prefix.encode()).hexdigest()[:4].upper()}"


def product_files(info: ProductInfo, dn: dict[str, np.ndarray]) -> dict[str, bytes]:
    """Every file of the SAFE by its path in the product, manifest.safe first: XMLs, measurements, manifest."""
    for pol in POLARISATIONS:
        valid = dn[pol][dn[pol] > 0].astype(np.float64)
        info.stats[pol] = (float(valid.mean()), float(valid.std()))
    files: dict[str, bytes] = {}
    repids: dict[str, tuple[str, str, str]] = {}
    for k, pol in reversed(list(enumerate(POLARISATIONS, start=1))):
        stem = info.stem[pol]
        object_id = stem.replace("-", "")
        entries = [
            (f"annotation/{stem}.xml", f"product{object_id}", "s1Level1ProductSchema", annotation_xml(info, pol, k)),
            (
                f"annotation/calibration/noise-{stem}.xml",
                f"noise{object_id}",
                "s1Level1NoiseSchema",
                noise_xml(info, pol, k),
            ),
            (
                f"annotation/calibration/calibration-{stem}.xml",
                f"calibration{object_id}",
                "s1Level1CalibrationSchema",
                calibration_xml(info, pol, k),
            ),
        ]
        for href, oid, rep, data in entries:
            files[href] = data
            repids[href] = (oid, rep, "Metadata Unit")
    for k, pol in reversed(list(enumerate(POLARISATIONS, start=1))):
        href = f"measurement/{info.stem[pol]}.tiff"
        files[href] = measurement_tiff(dn[pol], info, pol)
        repids[href] = (info.stem[pol].replace("-", ""), "s1Level1MeasurementSchema", "Measurement Data Unit")
    return {"manifest.safe": manifest_xml(info, files, repids), **{href: files[href] for href in sorted(files)}}


def write_zip(zip_path: Path, name: str, files: dict[str, bytes], day: pd.Timestamp) -> None:
    """Zip the files of SAFE `name` atomically, every member dated by the acquisition day (reproducible bytes)."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name(f".{zip_path.name}.part")
    stamp = (day.year, day.month, day.day, 0, 0, 0)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for member, data in files.items():
            entry = zipfile.ZipInfo(f"{name}.SAFE/{member}", date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            z.writestr(entry, data, compresslevel=1)
    tmp.replace(zip_path)
