"""STAND-IN for ESA SNAP's graph processing (gpt and esa-snappy), for soilsat's tests only: not SNAP.

It is as strict as SNAP where soilsat meets it:

- the graph: version 1.0, node sources that exist, operators and parameters checked against
  operators.json, the @Parameter fields read from SNAP 13's Java sources. An unknown
  parameter fails as GPF fails ("[NodeId: X] Unknown element 'p'"), a value outside a value
  set or interval as ceres' validators do ("Value for 'label' is invalid: 'v'"), and numbers,
  files and geometries must parse as SNAP parses them;
- the command line: gpt's own options only (CommandLineArgs); anything else, such as
  -J-Xmx, answers "Unknown option". The JVM heap is what a plain gpt script gives java
  (-Xmx4G) unless _JAVA_OPTIONS or INSTALL4J_ADD_VM_PARAMS sets another;
- orbits: Apply-Orbit-File looks for Sentinel-1 orbit files as SentinelPODOrbitFile does, in
  <OrbitFiles.sentinel1POEOrbitPath or RESOrbitPath>/<S1x>/<year>/<month> (the system property,
  else ~/.snap/auxdata/Orbits/Sentinel-1/...), month of the product's first state vector
  (taken here as sensing start - 60 s), by the validity in the file name, then the file's
  header; it cannot download, so without a file it fails, or warns with continueOnFail, and it
  records what it applied in Abstracted_Metadata/orbit_state_vector_file;
- Terrain-Correction places pixels as CRSGeoCodingHandler does: the output envelope of the
  source's geographic bounds (the Subset's geoRegion when there is one), snapped to the
  standard grid with standardGridOriginX/Y as a pixel centre (CrsGeoCoding's reference
  pixel 0.5, 0.5);
- Write writes BEAM-DIMAP as DimapProductWriter does (.dim header, .data/<band>.hdr/.img,
  big-endian ENVI) or GeoTIFF with no band names in the TIFF (SNAP keeps them in its private
  tag), and nothing else.

Pixels: a scene is a smooth sigma0 field of map coordinates (field_sigma0), incidence angles
growing with easting, and optional point targets read from "soilsat-standin-scene.json" in the
product (lon, lat, sigma0 and layover/shadow bits), so tests know what each pixel must hold.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pyproj
from lxml import etree

HERE = Path(__file__).resolve().parent
TABLE = json.loads((HERE / "operators.json").read_text())
SCENE_MEMBER = "soilsat-standin-scene.json"
STATE_VECTOR_LEAD_S = 60.0
_NAME = re.compile(r"^(S1[ABCD])_IW_GRDH_1S(DV|SV|DH|SH)_(\d{8}T\d{6})_(\d{8}T\d{6})_")
_EOF_NAME = re.compile(
    r"^(S1[ABCD])_OPER_AUX_(POEORB|RESORB)_OPOD_\d{8}T\d{6}_V(\d{8}T\d{6})_(\d{8}T\d{6})\.EOF$", re.IGNORECASE
)
POLS = {"DV": ("VV", "VH"), "SV": ("VV",), "DH": ("HH", "HV"), "SH": ("HH",)}
ORBIT_KEYS = {
    "Sentinel Precise": ("POEORB", "OrbitFiles.sentinel1POEOrbitPath"),
    "Sentinel Restituted": ("RESORB", "OrbitFiles.sentinel1RESOrbitPath"),
}
ENVI_TYPES = {"float32": 4, "int8": 1}


class GraphError(Exception):
    """What gpt prints after 'Error: '."""


# --------------------------------------------------------------------------- command line


def parse_size(text: str) -> int:
    """gpt's -c argument ('1800M', '2G', bytes) in bytes."""
    m = re.fullmatch(r"(\d+)([KMG]?)B?", text.upper())
    if not m:
        raise GraphError(f"Invalid option argument '{text}'")
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)]


def parse_command_line(argv: list[str]) -> dict:
    """gpt's options as CommandLineArgs parses them (GraphError on anything else)."""
    args = {
        "graph": None,
        "threads": os.cpu_count(),
        "cache": 512 << 20,
        "properties": {},
        "parameters": {},
        "stack_traces": "-e" in argv,
    }
    positional = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            if arg[:2] in ("-P", "-S", "-D"):
                key, sep, value = arg[2:].partition("=")
                if not sep or not key:
                    raise GraphError(f"Invalid option '{arg}'")
                args["properties" if arg[:2] == "-D" else "parameters"][key] = value
            elif arg in ("-e", "-x", "-h", "--diag", "-oformat", "-iformat"):
                pass
            elif arg in ("-t", "-f", "-p", "-m", "-v", "-q", "-c"):
                if i + 1 >= len(argv):
                    raise GraphError(f"Option argument missing for option '{arg}'")
                value = argv[i + 1]
                if arg == "-q":
                    args["threads"] = int(value)
                elif arg == "-c":
                    args["cache"] = parse_size(value)
                i += 1
            else:
                raise GraphError(f"Unknown option '{arg}'")
        else:
            positional.append(arg)
        i += 1
    if not positional:
        raise GraphError("Either operator name or graph XML file must be given")
    args["graph"] = positional[0]
    return args


def jvm_heap_mb(environ: dict[str, str]) -> int:
    """The heap java ends with: -Xmx4G of a plain gpt script, then INSTALL4J_ADD_VM_PARAMS and _JAVA_OPTIONS."""
    heap = 4096
    for var in ("INSTALL4J_ADD_VM_PARAMS", "_JAVA_OPTIONS"):
        for option in environ.get(var, "").split():
            m = re.fullmatch(r"-Xmx(\d+)([mMgG])", option)
            if m:
                heap = int(m.group(1)) * (1024 if m.group(2) in "gG" else 1)
    return heap


# --------------------------------------------------------------------------- the graph and its parameters


def load_graph(path: str) -> list[dict]:
    """The nodes of a graph file (GraphError as GraphIO raises it)."""
    try:
        root = etree.parse(path, etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise GraphError(f"Failed to read graph {path}: {exc}") from None
    version = root.findtext("version")
    if version is None:
        raise GraphError("No version is specified in the graph XML.")
    if version.strip() != "1.0":
        raise GraphError(f"Wrong version given in the graph XML. Given version: {version} Current version: 1.0")
    nodes = []
    for el in root.findall("node"):
        listed = el.find("sources")
        sources = [s.get("refid") or (s.text or "").strip() for s in (listed if listed is not None else [])]
        params_el = el.find("parameters")
        params = {p.tag: (p.text or "").strip() for p in (params_el if params_el is not None else [])}
        nodes.append(
            {
                "id": el.get("id"),
                "operator": (el.findtext("operator") or "").strip(),
                "sources": sources,
                "parameters": params,
            }
        )
    ids = {n["id"] for n in nodes}
    for n in nodes:
        for s in n["sources"]:
            if s not in ids:
                raise GraphError(f"Missing source '{s}' in node '{n['id']}'")
    return nodes


def convert(node_id: str, name: str, spec: dict, text: str):
    """A parameter's text as ceres converts and validates it (GraphError naming node and parameter)."""
    label = spec.get("label") or name
    kind = spec["type"]
    if text == "":
        if spec.get("notNull"):
            raise GraphError(f"[NodeId: {node_id}] Value for '{label}' must be given.")
        return None
    try:
        if kind in ("int", "Integer"):
            if not re.fullmatch(r"[+-]?\d+", text):
                raise ValueError
            value = int(text)
        elif kind in ("double", "Double"):
            value = float(text)
        elif kind in ("boolean", "Boolean"):  # ceres' BooleanConverter: true/false, else a number != 0
            low = text.lower()
            value = True if low == "true" else False if low in ("false", "0") else _nonzero(text)
        elif kind == "String[]":
            value = [t.strip() for t in text.split(",") if t.strip()]
        elif kind in ("Geometry", "Polygon"):
            if not re.fullmatch(r"\s*POLYGON\s*\(\(\s*[-\d.eE+\s,]+\)\)\s*", text, re.IGNORECASE):
                raise ValueError
            value = text
        elif kind == "Rectangle":
            parts = [int(v) for v in text.split(",")]
            if len(parts) != 4:
                raise ValueError
            value = parts
        else:  # String, File
            value = text
    except ValueError:
        raise GraphError(f"[NodeId: {node_id}] Cannot convert '{text}' to {kind} for parameter '{name}'") from None
    allowed = spec.get("valueSet")
    if allowed is not None:
        for item in value if isinstance(value, list) else [value]:
            if item not in allowed:
                raise GraphError(f"[NodeId: {node_id}] Value for '{label}' is invalid: '{item}'")
    if "interval" in spec and not _in_interval(value, spec["interval"]):
        raise GraphError(f"[NodeId: {node_id}] Value for '{label}' is out of range {spec['interval']}.")
    return value


def _nonzero(text: str) -> bool:
    try:
        return float(text) != 0.0
    except ValueError:
        return False


def _in_interval(value: float, interval: str) -> bool:
    """Whether a number lies in a ceres interval such as '(1, 100]' or '(0, *)'."""
    m = re.fullmatch(r"([(\[])\s*([^,]+),\s*([^\])]+)([)\]])", interval)
    lo, hi = m.group(2).strip(), m.group(3).strip()
    ok = True
    if lo != "*":
        ok &= value >= float(lo) if m.group(1) == "[" else value > float(lo)
    if hi != "*":
        ok &= value <= float(hi) if m.group(4) == "]" else value < float(hi)
    return ok


def checked_parameters(node: dict) -> dict:
    """A node's parameters converted, after checking every name against the operator's @Parameter fields."""
    op = TABLE["operators"].get(node["operator"])
    if op is None:
        raise GraphError(f"SPI not found for operator '{node['operator']}'")
    specs = op["parameters"]
    values = {}
    for name, text in node["parameters"].items():
        if name not in specs:
            raise GraphError(f"[NodeId: {node['id']}] Unknown element '{name}'")
        values[name] = convert(node["id"], name, specs[name], text)
    for name, spec in specs.items():
        if name not in values and "defaultValue" in spec:
            values[name] = convert(node["id"], name, spec, spec["defaultValue"])
        values.setdefault(name, None)
    return values


# --------------------------------------------------------------------------- products


def _stamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%S")


def read_product(path: str) -> dict:
    """What the stand-in takes from a Sentinel-1 GRD product: name, mission, times, polarisations, footprint, scene."""
    file = Path(path)
    if not file.exists():
        raise GraphError(f"[NodeId: Read] Specified 'file' [{path}] does not exist.")
    m = _NAME.match(file.name)
    if not m:
        raise GraphError(f"[NodeId: Read] No reader found for {path}")
    manifest, scene = _product_members(file)
    coords = re.search(rb"<gml:coordinates>([^<]+)</gml:coordinates>", manifest)
    if coords is None:
        raise GraphError(f"[NodeId: Read] {path}: manifest.safe has no footprint")
    lat_lon = [tuple(float(v) for v in pair.split(",")) for pair in coords.group(1).decode().split()]
    return {
        "name": file.name.split(".")[0],
        "mission": m.group(1),
        "polarisations": POLS[m.group(2)],
        "start": _stamp(m.group(3)),
        "stop": _stamp(m.group(4)),
        "footprint": [(lon, lat) for lat, lon in lat_lon],
        "scene": json.loads(scene) if scene else {},
    }


def _product_members(file: Path) -> tuple[bytes, bytes | None]:
    """manifest.safe and the stand-in's scene description of a product zip or SAFE folder."""
    if file.is_dir():
        scene = file / SCENE_MEMBER
        return (file / "manifest.safe").read_bytes(), scene.read_bytes() if scene.exists() else None
    with zipfile.ZipFile(file) as z:
        names = z.namelist()
        manifest = next(n for n in names if n.endswith("manifest.safe"))
        scene = next((n for n in names if n.endswith(SCENE_MEMBER)), None)
        return z.read(manifest), z.read(scene) if scene else None


# --------------------------------------------------------------------------- Apply-Orbit-File


def orbit_folder(kind_key: str, properties: dict[str, str], mission: str, when: dt.datetime) -> Path:
    """SentinelPODOrbitFile.getDestFolder: the settings path (system property first), then <S1x>/<year>/<MM>."""
    kind, key = kind_key
    default = Path(os.environ.get("HOME", "/")) / ".snap" / "auxdata" / "Orbits" / "Sentinel-1" / kind
    return Path(properties.get(key, default)) / mission / f"{when.year:04d}" / f"{when.month:02d}"


def find_orbit(orbit_type: str, properties: dict[str, str], product: dict) -> Path:
    """The orbit file SNAP would apply for one type, or GraphError as retrieveOrbitFile fails offline."""
    when = product["start"] - dt.timedelta(seconds=STATE_VECTOR_LEAD_S)
    folder = orbit_folder(ORBIT_KEYS[orbit_type], properties, product["mission"], when)
    prefix = f"{product['mission']}_OPER_AUX_{ORBIT_KEYS[orbit_type][0]}_OPOD_"
    for file in sorted(folder.glob("*")) if folder.is_dir() else []:
        m = _EOF_NAME.match(file.name)
        if file.name.upper().startswith(prefix) and m and _stamp(m.group(3)) <= when <= _stamp(m.group(4)):
            header = etree.parse(str(file)).getroot()
            start = header.findtext(".//Validity_Start").split("=")[-1]
            stop = header.findtext(".//Validity_Stop").split("=")[-1]
            if not (dt.datetime.fromisoformat(start) <= when <= dt.datetime.fromisoformat(stop)):
                raise GraphError("Product acquisition time is not within the validity period of the orbit")
            return file
    raise GraphError(
        f"No valid orbit file found for {when:%d-%b-%Y %H:%M:%S}\nOrbit files may be downloaded from "
        f"Copernicus Dataspaces \nand placed in {folder}"
    )


def apply_orbit(params: dict, properties: dict[str, str], product: dict, warn) -> str:
    """Apply-Orbit-File: the orbit_state_vector_file it records ('' when it continued without one)."""
    requested = params["orbitType"].split(" (")[0]
    types = [requested] + [t for t in ORBIT_KEYS if t != requested]
    first_error = None
    for orbit_type in types:
        try:
            file = find_orbit(orbit_type, properties, product)
        except GraphError as exc:
            first_error = first_error or exc
            continue
        return f"{requested} {file.name}"
    if params["continueOnFail"]:
        warn(
            f"WARNING: eu.esa.sar.orbits.gpf.ApplyOrbitFileOp: ApplyOrbit ignoring error and continuing: "
            f"java.io.IOException: {first_error}"
        )
        return ""
    raise GraphError(f"[NodeId: Apply-Orbit-File] {first_error}")


# --------------------------------------------------------------------------- Terrain-Flattening


def terrain_flattening(node_id: str, params: dict, bands: list[str]) -> list[str]:
    """Terrain-Flattening's target bands, refused as TerrainFlatteningOp refuses them: Gamma0_ for each Beta0_
    source band (Sigma0_ too with outputSigma0), simulatedImage with outputSimulatedImage."""
    if params["demName"] == "External DEM":
        dem = params["externalDEMFile"]
        if not dem or not Path(dem).is_file():
            raise GraphError(f"[NodeId: {node_id}] External DEM file is not found")
    selected = params["sourceBands"] or bands
    for band in selected:
        if band not in bands:
            raise GraphError(f"[NodeId: {node_id}] Source band '{band}' not found")
    out = []
    for band in selected:
        if not band.startswith("Beta0"):
            raise GraphError(f"[NodeId: {node_id}] TerrainFlattening requires beta0 as input")
        out.append(band.replace("Beta0", "Gamma0", 1))
        if params["outputSigma0"]:
            out.append(band.replace("Beta0", "Sigma0", 1))
    if params["outputSimulatedImage"]:
        out.append("simulatedImage")
    return out


# --------------------------------------------------------------------------- Terrain-Correction


def field_sigma0(x: np.ndarray, y: np.ndarray, pol: str) -> np.ndarray:
    """The stand-in scene's sigma0 at map coordinates (smooth, distinct at every 10 m pixel)."""
    base = 0.05 + 0.02 * np.sin(x / 97.0) * np.cos(y / 113.0) + 1e-7 * (x % 1000.0) + 1e-9 * (y % 1000.0)
    return (base if pol[0] == pol[1] else 0.2 * base).astype(np.float32)


def target_crs(text: str) -> pyproj.CRS:
    """CRSGeoCodingHandler.getCRS: WGS84(DD), WKT, an EPSG number or code."""
    if not text or text == "WGS84(DD)":
        return pyproj.CRS.from_epsg(4326)
    try:
        return pyproj.CRS.from_wkt(text)
    except pyproj.exceptions.CRSError:
        return pyproj.CRS.from_user_input(f"EPSG:{text}" if text.isdigit() else text)


def _polygon_bounds(wkt: str) -> tuple[float, float, float, float]:
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", wkt)]
    lon, lat = numbers[0::2], numbers[1::2]
    return min(lon), min(lat), max(lon), max(lat)


def terrain_correction(params: dict, product: dict, region: str | None, bands: list[str]) -> dict:
    """Terrain-Correction's target grid and bands, placed as CRSGeoCodingHandler places them."""
    if params["demName"] == "External DEM":
        dem = params["externalDEMFile"]
        if not dem or not Path(dem).is_file():
            raise GraphError(f"[NodeId: Terrain-Correction] External DEM file {dem} does not exist")
    for band in params["sourceBands"] or []:
        if band not in bands:
            raise GraphError(f"[NodeId: Terrain-Correction] Source band '{band}' not found")
    lons, lats = zip(*product["footprint"])
    west, south, east, north = min(lons), min(lats), max(lons), max(lats)
    if region:
        w, s, e, n = _polygon_bounds(region)
        west, south, east, north = max(west, w), max(south, s), min(east, e), min(north, n)
    crs = target_crs(params["mapProjection"])
    px = params["pixelSpacingInMeter"]
    if not px:
        raise GraphError("[NodeId: Terrain-Correction] the stand-in needs pixelSpacingInMeter")
    transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    min_e, min_n, max_e, max_n = transformer.transform_bounds(west, south, east, north, densify_pts=200)
    easting, northing = min_e, max_n
    if params["alignToStandardGrid"]:
        ox, oy = params["standardGridOriginX"], params["standardGridOriginY"]
        easting = math.floor((easting - ox) / px) * px + ox
        northing = math.ceil((northing - oy) / px) * px + oy
        width, height = math.ceil((max_e - easting) / px), math.ceil((northing - min_n) / px)
    else:
        width, height = math.floor((max_e - min_e) / px), math.floor((max_n - min_n) / px)
    # CrsGeoCoding: (easting, northing) is the centre of pixel (0, 0)
    cx = easting + np.arange(width) * px
    cy = northing - np.arange(height) * px
    xx, yy = np.meshgrid(cx, cy)
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xx, yy)
    inside = _inside(lon, lat, product["footprint"])
    out = {}
    selected = [b for b in (params["sourceBands"] or bands) if b.startswith(("Sigma0_", "Gamma0_"))]
    for band in selected:
        out[band] = np.where(inside, field_sigma0(xx, yy, band.split("_")[1]), 0.0).astype(np.float32)
    if params["saveIncidenceAngleFromEllipsoid"]:
        out["incidenceAngleFromEllipsoid"] = np.where(inside, 30.0 + (xx - cx[0]) / 1e4, 0.0).astype(np.float32)
    if params["saveLocalIncidenceAngle"]:
        out["localIncidenceAngle"] = np.where(inside, 28.0 + (xx - cx[0]) / 1e4, 0.0).astype(np.float32)
    if params["saveLayoverShadowMask"]:
        out["layoverShadowMask"] = np.zeros(xx.shape, dtype=np.int8)
    corner = (easting - px / 2, northing + px / 2)
    for target in product["scene"].get("targets", []):
        tx, ty = transformer.transform(target["lon"], target["lat"])
        col, row = math.floor((tx - corner[0]) / px), math.floor((corner[1] - ty) / px)
        if 0 <= row < height and 0 <= col < width:
            for band in selected:
                if "sigma0" in target:
                    out[band][row, col] = target["sigma0"]
            if "layoverShadowMask" in out and "mask" in target:
                out["layoverShadowMask"][row, col] = target["mask"]
    return {
        "crs": crs,
        "transform": (px, 0.0, 0.0, -px, corner[0], corner[1]),
        "width": width,
        "height": height,
        "bands": out,
    }


def _inside(lon: np.ndarray, lat: np.ndarray, ring: list[tuple[float, float]]) -> np.ndarray:
    """Points inside a lon/lat polygon (even-odd rule)."""
    inside = np.zeros(lon.shape, dtype=bool)
    n = len(ring)
    for i in range(n):
        (x0, y0), (x1, y1) = ring[i], ring[(i + 1) % n]
        crosses = (y0 > lat) != (y1 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (lon < x_at)
    return inside


# --------------------------------------------------------------------------- Write


def write_dimap(file: str, product: dict, tc: dict, orbit_record: str) -> Path:
    """The product as DimapProductWriter writes it: <name>.dim and <name>.data/<band>.hdr/.img (big-endian)."""
    dim = Path(file) if file.endswith(".dim") else Path(file + ".dim")
    data = dim.with_suffix(".data")
    data.mkdir(parents=True, exist_ok=True)
    root = etree.Element("Dimap_Document", name=dim.name)
    etree.SubElement(etree.SubElement(root, "Metadata_Id"), "METADATA_FORMAT", version="2.13.0").text = "DIMAP"
    crs_el = etree.SubElement(root, "Coordinate_Reference_System")
    etree.SubElement(crs_el, "WKT").text = "\n" + tc["crs"].to_wkt("WKT1_GDAL", pretty=True) + "\n"
    px, b, d, e, c, f = tc["transform"]
    etree.SubElement(etree.SubElement(root, "Geoposition"), "IMAGE_TO_MODEL_TRANSFORM").text = ",".join(
        repr(float(v)) for v in (px, d, b, e, c, f)
    )
    dims = etree.SubElement(root, "Raster_Dimensions")
    for tag, value in (("NCOLS", tc["width"]), ("NROWS", tc["height"]), ("NBANDS", len(tc["bands"]))):
        etree.SubElement(dims, tag).text = str(value)
    access = etree.SubElement(root, "Data_Access")
    etree.SubElement(access, "DATA_FILE_FORMAT").text = "ENVI"
    interp = etree.SubElement(root, "Image_Interpretation")
    for index, (name, values) in enumerate(tc["bands"].items()):
        kind = "int8" if values.dtype == np.int8 else "float32"
        df = etree.SubElement(access, "Data_File")
        etree.SubElement(df, "DATA_FILE_PATH", href=f"{data.name}/{name}.hdr")
        etree.SubElement(df, "BAND_INDEX").text = str(index)
        info = etree.SubElement(interp, "Spectral_Band_Info")
        for tag, value in (
            ("BAND_INDEX", index),
            ("BAND_NAME", name),
            ("BAND_RASTER_WIDTH", tc["width"]),
            ("BAND_RASTER_HEIGHT", tc["height"]),
            ("DATA_TYPE", kind),
            ("SCALING_FACTOR", "1.0"),
            ("SCALING_OFFSET", "0.0"),
            ("LOG10_SCALED", "false"),
            ("NO_DATA_VALUE_USED", "true"),
            ("NO_DATA_VALUE", "0.0"),
        ):
            etree.SubElement(info, tag).text = str(value)
        (data / f"{name}.hdr").write_text(
            f"ENVI\ndescription = {{Sentinel-1 stand-in - Unit: 1}}\nsamples = {tc['width']}\nlines = {tc['height']}\n"
            f"bands = 1\nheader offset = 0\nfile type = ENVI Standard\ndata type = {ENVI_TYPES[kind]}\n"
            f"interleave = bsq\nbyte order = 1\nband names = {{ {name} }}\n"
        )
        (data / f"{name}.img").write_bytes(values.astype(">i1" if kind == "int8" else ">f4").tobytes())
    sources = etree.SubElement(root, "Dataset_Sources")
    meta = etree.SubElement(sources, "MDElem", name="metadata")
    abstracted = etree.SubElement(meta, "MDElem", name="Abstracted_Metadata")
    for name, value in (
        ("PRODUCT", product["name"]),
        ("MISSION", f"SENTINEL-1{product['mission'][-1]}"),
        ("orbit_state_vector_file", orbit_record),
    ):
        etree.SubElement(abstracted, "MDATTR", name=name, type="ascii").text = value
    dim.write_bytes(etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="ISO-8859-1"))
    return dim


def write_geotiff(file: str, tc: dict) -> Path:
    """GeoTIFF as SNAP's writer leaves it for GDAL: georeferenced bands without descriptions."""
    import rasterio
    from affine import Affine

    path = Path(file) if file.lower().endswith(".tif") else Path(file + ".tif")
    px, b, d, e, c, f = tc["transform"]
    stack = np.stack([v.astype(np.float32) for v in tc["bands"].values()])
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=tc["width"],
        height=tc["height"],
        count=len(stack),
        dtype="float32",
        crs=tc["crs"].to_wkt(),
        transform=Affine(px, b, c, d, e, f),
        BIGTIFF="YES",
    ) as dst:
        dst.write(stack)
    return path


# --------------------------------------------------------------------------- the graph run


def run(graph_path: str, properties: dict[str, str], warn) -> Path:
    """Execute a graph: check every node, then follow the chain from Read to Write; the path written."""
    nodes = load_graph(graph_path)
    checked = {n["id"]: checked_parameters(n) for n in nodes}
    state: dict = {}
    written = None
    for node in nodes:
        p = checked[node["id"]]
        op = node["operator"]
        upstream = state.get(node["sources"][0]) if node["sources"] else None
        if op == "Read":
            product = read_product(p["file"])
            bands = [f"{k}_{pol}" for pol in product["polarisations"] for k in ("Amplitude", "Intensity")]
            state[node["id"]] = {"product": product, "bands": bands, "orbit": "", "region": None}
        elif op == "Apply-Orbit-File":
            state[node["id"]] = dict(upstream, orbit=apply_orbit(p, properties, upstream["product"], warn))
        elif op in ("ThermalNoiseRemoval", "Remove-GRD-Border-Noise"):
            state[node["id"]] = dict(upstream, bands=[b for b in upstream["bands"] if b.startswith("Intensity_")])
        elif op == "Calibration":
            pols = p["selectedPolarisations"] or upstream["product"]["polarisations"]
            kinds = [
                k
                for k, flag in (
                    ("Sigma0", "outputSigmaBand"),
                    ("Gamma0", "outputGammaBand"),
                    ("Beta0", "outputBetaBand"),
                )
                if p[flag]
            ]
            state[node["id"]] = dict(upstream, bands=[f"{k}_{pol}" for k in kinds for pol in pols])
        elif op == "Terrain-Flattening":
            state[node["id"]] = dict(upstream, bands=terrain_flattening(node["id"], p, upstream["bands"]))
        elif op == "Speckle-Filter":
            for band in p["sourceBands"] or []:
                if band not in upstream["bands"]:
                    raise GraphError(f"[NodeId: {node['id']}] Source band '{band}' not found")
            state[node["id"]] = dict(upstream)
        elif op == "Subset":
            state[node["id"]] = dict(upstream, region=p["geoRegion"])
        elif op == "Terrain-Correction":
            tc = terrain_correction(p, upstream["product"], upstream["region"], upstream["bands"])
            state[node["id"]] = dict(upstream, tc=tc)
        elif op == "Write":
            if "tc" not in upstream:
                raise GraphError("the stand-in writes Terrain-Correction products only")
            if p["formatName"] == "BEAM-DIMAP":
                written = write_dimap(p["file"], upstream["product"], upstream["tc"], upstream["orbit"])
            elif p["formatName"] in ("GeoTIFF", "GeoTIFF-BigTIFF"):
                written = write_geotiff(p["file"], upstream["tc"])
            else:
                raise GraphError(f"[NodeId: {node['id']}] No writer found for format '{p['formatName']}'")
    if written is None:
        raise GraphError("The graph has no Write node")
    return written
