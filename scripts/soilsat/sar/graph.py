"""The Sentinel-1 chain as a SNAP graph: built from the configuration, written as XML, read back.

The graph is the one description of the chain (after Filipponi 2019) that both engines run:
SNAP's ``gpt`` executes it as it is (engine ``snap``), and :mod:`soilsat.sar.engine` reads
it back and runs soilsat's own operator for each node (engine ``builtin``). Node ids,
operator names and parameter names are spelled as SNAP's operators spell them, so the file
kept beside each output opens in SNAP's Graph Builder:

    Read -> Apply-Orbit-File -> ThermalNoiseRemoval -> Remove-GRD-Border-Noise -> Calibration
         -> Speckle-Filter -> [Terrain-Flattening] -> [Subset] -> Terrain-Correction -> Write

With ``sentinel1.radiometry: gamma0`` Calibration delivers beta0, the speckle filter filters it,
and Terrain-Flattening (SNAP's area-based flattening, on the same external DEM as
Terrain-Correction) turns it into gamma0, which Terrain-Correction geocodes. With sigma0 (the
thesis' chain) the graph has no Terrain-Flattening node and is unchanged by its options.

Subset sits just before Terrain-Correction: SNAP computes tiles on demand, so only the image
the study grid needs is read and filtered, while border-noise removal (which takes the image
edges for the swath edges) and the speckle filter still see the whole scene around it.
Terrain-Correction's standardGridOriginX/Y is the centre of a pixel in SNAP (its CrsGeoCoding
puts the reference at pixel (0.5, 0.5)), so the graph gives the centre of the study grid's
first pixel, and the study grid is an integer window of SNAP's output. The output is written as
BEAM-DIMAP, whose header names every band (SNAP's GeoTIFF writers keep band names in a private
tag only).

No setting has a default here: every value comes from the validated configuration (the
schema holds the defaults), from the study grid or from the job's files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyproj
from lxml import etree

from soilsat.errors import ConfigError
from soilsat.grid import StudyGrid
from soilsat.io import atomic_path

GRAPH_ID = "soilsat-sentinel1"
WRITE_FORMAT = "BEAM-DIMAP"
# The chain's operators in order; Subset is optional and, when present, follows Speckle-Filter.
CHAIN = (
    "Read",
    "Apply-Orbit-File",
    "ThermalNoiseRemoval",
    "Remove-GRD-Border-Noise",
    "Calibration",
    "Speckle-Filter",
    "Terrain-Correction",
    "Write",
)
# optional operator -> the node it follows (inserted in this order: Terrain-Flattening comes before Subset)
OPTIONAL = {"Subset": "Speckle-Filter", "Terrain-Flattening": "Speckle-Filter"}
# soilsat's own settings that no SNAP operator has: kept in the graph's applicationData (gpt ignores it)
APPLICATION_ID = "soilsat"
# Apply-Orbit-File's orbitType for the kind of an acquired orbit file (EOF File_Type without AUX_)
ORBIT_TYPES = {"POEORB": "Sentinel Precise (Auto Download)", "RESORB": "Sentinel Restituted (Auto Download)"}
NO_DEM_NODATA = -32768.0  # given to SNAP when the DEM file declares no no-data value
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


def beta_or_sigma(radiometry: str) -> str:
    """The band prefix Calibration delivers for a radiometry: Beta0 for gamma0 (flattened later), else Sigma0."""
    return "Beta0" if radiometry == "gamma0" else "Sigma0"


@dataclasses.dataclass(frozen=True)
class Node:
    """One node of a SNAP graph: id, operator, source node ids and parameters (as text)."""

    id: str
    operator: str
    sources: tuple[str, ...]
    parameters: dict[str, str]


def _flag(value: bool) -> str:
    """A boolean as SNAP writes it."""
    return "true" if value else "false"


def _window(size: int) -> str:
    """A square window as SNAP's Speckle-Filter spells it (7 -> '7x7')."""
    return f"{int(size)}x{int(size)}"


def grid_origin(grid: StudyGrid) -> tuple[float, float]:
    """Terrain-Correction's standardGridOriginX/Y for a study grid: the centre of its first pixel."""
    return grid.x0 + grid.resolution / 2, grid.y0 - grid.resolution / 2


def map_projection_wkt(grid: StudyGrid) -> str:
    """The grid CRS as WKT 1 (the form SNAP's Terrain-Correction parses)."""
    return pyproj.CRS.from_user_input(grid.crs).to_wkt("WKT1_GDAL")


def subset_polygon(grid: StudyGrid, margin_m: float) -> str:
    """The grid's footprint widened by `margin_m`, as a WGS 84 WKT polygon (Subset's geoRegion)."""
    left, bottom, right, top = grid.bounds
    t = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    w, s, e, n = t.transform_bounds(
        left - margin_m, bottom - margin_m, right + margin_m, top + margin_m, densify_pts=21
    )
    return f"POLYGON(({w:.6f} {s:.6f}, {e:.6f} {s:.6f}, {e:.6f} {n:.6f}, {w:.6f} {n:.6f}, {w:.6f} {s:.6f}))"


def orbit_parameters(orbit: Mapping, orbit_kind: str | None) -> dict[str, str]:
    """Apply-Orbit-File's parameters: the acquired file's type, which must then apply, else the configured type."""
    if orbit_kind is None:
        return {
            "orbitType": str(orbit["type"]),
            "polyDegree": str(int(orbit["poly_degree"])),
            "continueOnFail": _flag(orbit["continue_on_fail"]),
        }
    if orbit_kind not in ORBIT_TYPES:
        raise ConfigError(f"orbit file of type {orbit_kind!r}: SNAP applies {sorted(ORBIT_TYPES)} files only")
    return {
        "orbitType": ORBIT_TYPES[orbit_kind],
        "polyDegree": str(int(orbit["poly_degree"])),
        "continueOnFail": "false",
    }


def chain_nodes(
    product: str | os.PathLike,
    output: str | os.PathLike,
    grid: StudyGrid,
    dem: str | os.PathLike,
    settings: Mapping,
    dem_nodata: float | None = None,
    orbit_kind: str | None = None,
) -> list[Node]:
    """The nodes of the chain for one product and one study grid, from the `sentinel1:` settings.

    `dem_nodata` is the DEM file's own no-data value (None or NaN: the DEM has none, and
    SNAP is given -32768, a height no terrain has). `orbit_kind` is the type (POEORB or RESORB)
    of the orbit file the job was given: Apply-Orbit-File then asks for that type and may not
    continue without it; None (no file) keeps the configured type and continueOnFail."""
    nodata = NO_DEM_NODATA if dem_nodata is None or dem_nodata != dem_nodata else float(dem_nodata)
    origin_x, origin_y = grid_origin(grid)
    try:
        pols = ",".join(p.upper() for p in settings["polarisations"])
        radiometry, ard = settings["radiometry"], bool(settings["ard_layers"])
        if ard and settings["engine"] == "snap":
            raise ConfigError(
                "config key sentinel1.ard_layers: the CEOS-ARD layers are written by the builtin engine only "
                "(sentinel1.engine: builtin)"
            )
        calibrated = ",".join(f"{beta_or_sigma(radiometry)}_{p}" for p in pols.split(","))
        geocoded = ",".join(f"{'Gamma0' if radiometry == 'gamma0' else 'Sigma0'}_{p}" for p in pols.split(","))
        border, speckle, subset = settings["border_noise"], settings["speckle"], settings["subset"]
        nodes = [
            Node("Read", "Read", (), {"file": str(Path(product).resolve()), "formatName": "SENTINEL-1"}),
            Node("Apply-Orbit-File", "Apply-Orbit-File", ("Read",), orbit_parameters(settings["orbit"], orbit_kind)),
            Node(
                "ThermalNoiseRemoval",
                "ThermalNoiseRemoval",
                ("Apply-Orbit-File",),
                {
                    "selectedPolarisations": pols,
                    "removeThermalNoise": "true",
                    "reIntroduceThermalNoise": "false",
                    **({"outputNoise": "true"} if ard else {}),
                },
            ),
            Node(
                "Remove-GRD-Border-Noise",
                "Remove-GRD-Border-Noise",
                ("ThermalNoiseRemoval",),
                {
                    "selectedPolarisations": pols,
                    "borderLimit": str(int(border["border_limit"])),
                    "trimThreshold": repr(float(border["trim_threshold"])),
                },
            ),
            Node(
                "Calibration",
                "Calibration",
                ("Remove-GRD-Border-Noise",),
                {
                    "selectedPolarisations": pols,
                    "outputImageInComplex": "false",
                    "outputImageScaleInDb": "false",
                    "createGammaBand": "false",
                    "createBetaBand": "false",
                    "outputSigmaBand": _flag(radiometry == "sigma0"),
                    "outputGammaBand": "false",
                    "outputBetaBand": _flag(radiometry == "gamma0"),
                },
            ),
            Node(
                "Speckle-Filter",
                "Speckle-Filter",
                ("Calibration",),
                {
                    "sourceBands": calibrated,
                    "filter": "Lee Sigma",
                    "windowSize": _window(speckle["window"]),
                    "targetWindowSizeStr": _window(speckle["target_window"]),
                    "sigmaStr": repr(float(speckle["sigma"])),
                    "numLooksStr": str(int(speckle["looks"])),
                },
            ),
        ]
        if radiometry == "gamma0":
            flattening = settings["terrain_flattening"]
            nodes.append(
                Node(
                    "Terrain-Flattening",
                    "Terrain-Flattening",
                    ("Speckle-Filter",),
                    {
                        "sourceBands": calibrated,
                        "demName": "External DEM",
                        "demResamplingMethod": "BILINEAR_INTERPOLATION",
                        "externalDEMFile": str(Path(dem).resolve()),
                        "externalDEMNoDataValue": repr(nodata),
                        "externalDEMApplyEGM": "false",
                        "outputSimulatedImage": _flag(ard),
                        "outputSigma0": _flag(ard),
                        "nodataValueAtSea": "false",
                        "additionalOverlap": repr(float(flattening["additional_overlap"])),
                        "oversamplingMultiple": repr(float(flattening["oversampling_multiple"])),
                    },
                )
            )
        if subset["enabled"]:
            nodes.append(
                Node(
                    "Subset",
                    "Subset",
                    (nodes[-1].id,),
                    {
                        "geoRegion": subset_polygon(grid, float(subset["margin_m"])),
                        "subSamplingX": "1",
                        "subSamplingY": "1",
                        "fullSwath": "false",
                        "copyMetadata": "true",
                    },
                )
            )
        nodes += [
            Node(
                "Terrain-Correction",
                "Terrain-Correction",
                (nodes[-1].id,),
                {
                    "sourceBands": geocoded,
                    "demName": "External DEM",
                    "externalDEMFile": str(Path(dem).resolve()),
                    "externalDEMNoDataValue": repr(nodata),
                    "externalDEMApplyEGM": "false",
                    "demResamplingMethod": "BILINEAR_INTERPOLATION",
                    "imgResamplingMethod": "BILINEAR_INTERPOLATION",
                    "pixelSpacingInMeter": repr(float(grid.resolution)),
                    "mapProjection": map_projection_wkt(grid),
                    "alignToStandardGrid": "true",
                    "standardGridOriginX": repr(float(origin_x)),
                    "standardGridOriginY": repr(float(origin_y)),
                    "nodataValueAtSea": "false",
                    "saveDEM": "false",
                    "saveLatLon": "false",
                    "saveIncidenceAngleFromEllipsoid": "true",
                    "saveLocalIncidenceAngle": "true",
                    "saveProjectedLocalIncidenceAngle": "false",
                    "saveSelectedSourceBand": "true",
                    "saveLayoverShadowMask": "true",
                    "outputComplex": "false",
                    "applyRadiometricNormalization": "false",
                },
            ),
            Node(
                "Write",
                "Write",
                ("Terrain-Correction",),
                {"file": str(Path(output).resolve()), "formatName": WRITE_FORMAT},
            ),
        ]
    except KeyError as exc:
        raise ConfigError(
            f"config key sentinel1.{exc.args[0]} is missing (validate the config against the schema)"
        ) from None
    return nodes


def to_xml(nodes: Sequence[Node], application: Mapping[str, str] | None = None) -> str:
    """The SNAP graph XML of a node list (as Graph Builder writes it), with soilsat's own settings, if any, in an
    applicationData element (which gpt keeps and ignores)."""
    root = etree.Element("graph", id=GRAPH_ID)
    etree.SubElement(root, "version").text = "1.0"
    for node in nodes:
        el = etree.SubElement(root, "node", id=node.id)
        etree.SubElement(el, "operator").text = node.operator
        sources = etree.SubElement(el, "sources")
        for k, src in enumerate(node.sources):
            etree.SubElement(sources, "sourceProduct" if k == 0 else f"sourceProduct.{k}", refid=src)
        params = etree.SubElement(el, "parameters", {"class": "com.bc.ceres.binding.dom.XppDomElement"})
        for name, value in node.parameters.items():
            etree.SubElement(params, name).text = value
    if application:
        data = etree.SubElement(root, "applicationData", id=APPLICATION_ID)
        for name, value in application.items():
            etree.SubElement(data, name).text = value
    return etree.tostring(root, pretty_print=True, xml_declaration=False, encoding="unicode")


def application_settings(settings: Mapping) -> dict[str, str]:
    """soilsat's settings without a SNAP parameter, as the graph keeps them: only those off their default
    (rangePolynomial: interpolated), so that a graph of the defaults is what it was before they existed."""
    try:
        polynomial = settings["range_polynomial"]
    except KeyError as exc:
        raise ConfigError(f"config key sentinel1.{exc.args[0]} is missing") from None
    return {} if polynomial == "nearest" else {"rangePolynomial": str(polynomial)}


def read_application(xml: str, where: str = "graph") -> dict[str, str]:
    """The settings in a graph's soilsat applicationData element ({} without one)."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"{where}: graph XML does not parse ({exc})") from None
    for data in root.findall("applicationData"):
        if data.get("id") == APPLICATION_ID:
            return {el.tag: (el.text or "").strip() for el in data}
    return {}


def build_graph(
    product: str | os.PathLike,
    output: str | os.PathLike,
    grid: StudyGrid,
    dem: str | os.PathLike,
    settings: Mapping,
    dem_nodata: float | None = None,
    orbit_kind: str | None = None,
) -> str:
    """The chain's SNAP graph XML for one product, study grid and DEM (see :func:`chain_nodes`)."""
    nodes = chain_nodes(product, output, grid, dem, settings, dem_nodata, orbit_kind)
    return to_xml(nodes, application_settings(settings))


def write_graph(path: str | os.PathLike, xml: str) -> None:
    """Write a graph XML file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(xml, encoding="utf-8")


# Parameters naming files: they differ between working directories, not between processing chains.
PATH_PARAMETERS = ("file", "externalDEMFile")


def graph_hash(xml: str) -> str:
    """A short fingerprint of a graph's processing chain: sha256 of its XML without file paths (16 hex digits)."""
    root = etree.fromstring(xml.encode("utf-8"), parser=_PARSER)
    for name in PATH_PARAMETERS:
        for element in root.iter(name):
            element.text = ""
    return hashlib.sha256(etree.tostring(root, method="c14n")).hexdigest()[:16]


def parse_graph(xml: str, where: str = "graph") -> list[Node]:
    """The nodes of a SNAP graph XML text, in file order (ConfigError naming `where` if malformed)."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"{where}: graph XML does not parse ({exc})") from None
    if root.tag != "graph":
        raise ConfigError(f"{where}: not a SNAP graph (root element {root.tag!r})")
    nodes = []
    for el in root.findall("node"):
        node_id, op = el.get("id"), el.findtext("operator")
        if not node_id or not op:
            raise ConfigError(f"{where}: a node lacks its id or operator")
        src_el = el.find("sources")
        sources = tuple(s.get("refid") or (s.text or "").strip() for s in (src_el if src_el is not None else ()))
        params_el = el.find("parameters")
        params = {p.tag: (p.text or "").strip() for p in (params_el if params_el is not None else ())}
        nodes.append(Node(node_id, op.strip(), sources, params))
    return nodes


def read_graph(path: str | os.PathLike) -> tuple[list[Node], str]:
    """The nodes and the XML text of a graph file (ConfigError naming the file if unreadable)."""
    try:
        xml = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: graph file unreadable ({exc.strerror})") from None
    return parse_graph(xml, str(path)), xml


def check_chain(nodes: Sequence[Node], where: str = "graph") -> dict[str, Node]:
    """The chain's nodes by operator, after checking their order and links (ConfigError otherwise)."""
    by_op: dict[str, Node] = {}
    for node in nodes:
        if node.operator in by_op:
            raise ConfigError(f"{where}: operator {node.operator} appears twice")
        by_op[node.operator] = node
    unknown = sorted(set(by_op) - set(CHAIN) - set(OPTIONAL))
    if unknown:
        raise ConfigError(f"{where}: operators {unknown} are not part of the Sentinel-1 chain")
    missing = [op for op in CHAIN if op not in by_op]
    if missing:
        raise ConfigError(f"{where}: the chain lacks {', '.join(missing)}")
    order = list(CHAIN)
    for op, after in OPTIONAL.items():
        if op in by_op:
            order.insert(order.index(after) + 1, op)
    for prev, op in zip(order, order[1:]):
        if by_op[op].sources != (by_op[prev].id,):
            raise ConfigError(
                f"{where}: node {by_op[op].id} ({op}) must take its source from {by_op[prev].id} ({prev}), "
                f"not {list(by_op[op].sources)}"
            )
    return by_op


def parameter(node: Node, name: str, where: str = "graph", kind=str):
    """A node parameter converted by `kind` (ConfigError naming node and parameter when missing or malformed)."""
    if name not in node.parameters:
        raise ConfigError(f"{where}: node {node.id} has no parameter {name}")
    text = node.parameters[name]
    try:
        if kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        return kind(text)
    except ValueError:
        raise ConfigError(f"{where}: node {node.id} parameter {name}={text!r} is not a valid {kind.__name__}") from None


def window_size(text: str) -> int:
    """The side of a square window spelled as SNAP does ('7x7' -> 7)."""
    a, sep, b = text.lower().partition("x")
    if not sep or a != b:
        raise ValueError(text)
    return int(a)
