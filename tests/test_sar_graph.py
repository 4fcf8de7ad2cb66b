"""The Sentinel-1 SNAP graph (soilsat.sar.graph): built from the config, written as XML, read back and checked."""

from __future__ import annotations

import copy
from pathlib import Path

import pyproj
import pytest
import yaml
from lxml import etree
from snakemake.utils import validate

from soilsat.errors import ConfigError
from soilsat.grid import region_grid
from soilsat.sar import graph

ROOT = Path(__file__).resolve().parents[1]
GRID = region_grid("t", 8.95, 55.95, 1500, 250)


def sentinel1_settings(**overrides) -> dict:
    """The `sentinel1:` section of the shipped config, validated (schema defaults filled in), with overrides."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, str(ROOT / "rules" / "schemas" / "config.schema.yaml"))
    section = copy.deepcopy(config["sentinel1"])
    for key, value in overrides.items():
        *parents, last = key.split(".")
        node = section
        for p in parents:
            node = node[p]
        node[last] = value
    return section


def build(tmp_path: Path, **overrides) -> str:
    return graph.build_graph(
        tmp_path / "p.zip", tmp_path / "out.tif", GRID, tmp_path / "dem.tif", sentinel1_settings(**overrides)
    )


def test_the_chain_as_snap_spells_it(tmp_path):
    root = etree.fromstring(build(tmp_path).encode())
    assert root.tag == "graph" and root.findtext("version") == "1.0"
    nodes = root.findall("node")
    assert [n.get("id") for n in nodes] == [
        "Read",
        "Apply-Orbit-File",
        "ThermalNoiseRemoval",
        "Remove-GRD-Border-Noise",
        "Calibration",
        "Speckle-Filter",
        "Subset",
        "Terrain-Correction",
        "Write",
    ]
    assert [n.findtext("operator") for n in nodes] == [n.get("id") for n in nodes]
    # each node reads the one before it
    for prev, node in zip(nodes, nodes[1:]):
        assert node.find("sources/sourceProduct").get("refid") == prev.get("id")
    params = {n.get("id"): {p.tag: p.text or "" for p in n.find("parameters")} for n in nodes}
    assert params["Read"] == {"file": str((tmp_path / "p.zip").resolve()), "formatName": "SENTINEL-1"}
    assert params["Apply-Orbit-File"] == {
        "orbitType": "Sentinel Precise (Auto Download)",
        "polyDegree": "3",
        "continueOnFail": "true",
    }
    assert params["ThermalNoiseRemoval"] == {
        "selectedPolarisations": "VV,VH",
        "removeThermalNoise": "true",
        "reIntroduceThermalNoise": "false",
    }
    assert params["Remove-GRD-Border-Noise"] == {
        "selectedPolarisations": "VV,VH",
        "borderLimit": "500",
        "trimThreshold": "0.5",
    }
    assert params["Calibration"]["outputSigmaBand"] == "true"
    assert params["Calibration"]["outputBetaBand"] == params["Calibration"]["outputGammaBand"] == "false"
    assert params["Calibration"]["outputImageScaleInDb"] == "false"
    assert params["Speckle-Filter"] == {
        "sourceBands": "Sigma0_VV,Sigma0_VH",
        "filter": "Lee Sigma",
        "windowSize": "7x7",
        "targetWindowSizeStr": "3x3",
        "sigmaStr": "0.9",
        "numLooksStr": "1",
    }
    assert set(params["Subset"]) == {"geoRegion", "subSamplingX", "subSamplingY", "fullSwath", "copyMetadata"}
    tc = params["Terrain-Correction"]
    assert tc["demName"] == "External DEM"
    assert tc["externalDEMFile"] == str((tmp_path / "dem.tif").resolve())
    assert tc["externalDEMNoDataValue"] == "-32768.0" and tc["externalDEMApplyEGM"] == "false"
    assert tc["demResamplingMethod"] == tc["imgResamplingMethod"] == "BILINEAR_INTERPOLATION"
    assert tc["pixelSpacingInMeter"] == "10.0"
    assert pyproj.CRS.from_wkt(tc["mapProjection"]) == pyproj.CRS.from_epsg(GRID.epsg)
    # SNAP's standard grid origin is a pixel centre: the centre of the study grid's first pixel
    assert (tc["alignToStandardGrid"], tc["standardGridOriginX"], tc["standardGridOriginY"]) == (
        "true",
        repr(float(GRID.x0 + 5)),
        repr(float(GRID.y0 - 5)),
    )
    saved = ("saveLocalIncidenceAngle", "saveLayoverShadowMask", "saveIncidenceAngleFromEllipsoid")
    assert [tc[name] for name in saved] == ["true"] * 3
    assert tc["nodataValueAtSea"] == "false"
    assert params["Write"] == {"file": str((tmp_path / "out.tif").resolve()), "formatName": "BEAM-DIMAP"}


def test_looks_walks_from_the_config_into_num_looks(tmp_path):
    # the default comes from the schema alone
    schema = yaml.safe_load((ROOT / "rules" / "schemas" / "config.schema.yaml").read_text())
    looks = schema["properties"]["sentinel1"]["properties"]["speckle"]["properties"]["looks"]
    assert looks["default"] == 1 and looks["type"] == "integer" and looks["description"]
    nodes = graph.parse_graph(build(tmp_path, **{"speckle.looks": 2, "speckle.window": 9, "speckle.sigma": 0.8}))
    speckle = next(n for n in nodes if n.id == "Speckle-Filter")
    got = (speckle.parameters["numLooksStr"], speckle.parameters["windowSize"], speckle.parameters["sigmaStr"])
    assert got == ("2", "9x9", "0.8")


def test_subset_before_terrain_correction_by_default(tmp_path):
    schema = yaml.safe_load((ROOT / "rules" / "schemas" / "config.schema.yaml").read_text())
    assert schema["properties"]["sentinel1"]["properties"]["subset"]["properties"]["enabled"]["default"] is True
    nodes = graph.parse_graph(build(tmp_path, **{"subset.margin_m": 1000}))
    assert [n.id for n in nodes[5:8]] == ["Speckle-Filter", "Subset", "Terrain-Correction"]
    assert nodes[6].sources == ("Speckle-Filter",) and nodes[7].sources == ("Subset",)
    region = nodes[6].parameters["geoRegion"]
    assert region.startswith("POLYGON((")
    lons = [float(p.split()[0]) for p in region[9:-2].split(",")]
    w, s, e, n = GRID.lonlat_bounds()
    assert min(lons) < w - 0.01 and max(lons) > e + 0.01  # 1 km wider than the grid on each side
    graph.check_chain(nodes)


def test_without_subset_terrain_correction_reads_the_filter(tmp_path):
    nodes = graph.parse_graph(build(tmp_path, **{"subset.enabled": False}))
    assert "Subset" not in [n.id for n in nodes]
    assert next(n for n in nodes if n.id == "Terrain-Correction").sources == ("Speckle-Filter",)
    graph.check_chain(nodes)


def test_an_acquired_orbit_file_sets_its_type_and_must_apply(tmp_path):
    settings = sentinel1_settings(**{"orbit.continue_on_fail": True})
    for kind, orbit_type in (
        ("POEORB", "Sentinel Precise (Auto Download)"),
        ("RESORB", "Sentinel Restituted (Auto Download)"),
    ):
        xml = graph.build_graph(
            tmp_path / "p.zip", tmp_path / "o.dim", GRID, tmp_path / "d.tif", settings, orbit_kind=kind
        )
        node = next(n for n in graph.parse_graph(xml) if n.id == "Apply-Orbit-File")
        assert node.parameters == {"orbitType": orbit_type, "polyDegree": "3", "continueOnFail": "false"}
    with pytest.raises(ConfigError, match=r"orbit file of type 'PREORB': SNAP applies \['POEORB', 'RESORB'\]"):
        graph.build_graph(
            tmp_path / "p.zip", tmp_path / "o.dim", GRID, tmp_path / "d.tif", settings, orbit_kind="PREORB"
        )


def test_polarisations_and_the_dem_nodata(tmp_path):
    xml = graph.build_graph(
        tmp_path / "p.zip",
        tmp_path / "o.tif",
        GRID,
        tmp_path / "d.tif",
        sentinel1_settings(polarisations=["VV"]),
        dem_nodata=-9999.0,
    )
    nodes = {n.id: n for n in graph.parse_graph(xml)}
    assert nodes["Calibration"].parameters["selectedPolarisations"] == "VV"
    assert nodes["Speckle-Filter"].parameters["sourceBands"] == "Sigma0_VV"
    assert nodes["Terrain-Correction"].parameters["externalDEMNoDataValue"] == "-9999.0"


def test_round_trip_and_hash(tmp_path):
    settings = sentinel1_settings()
    nodes = graph.chain_nodes(tmp_path / "p.zip", tmp_path / "o.tif", GRID, tmp_path / "d.tif", settings)
    xml = graph.to_xml(nodes)
    assert graph.parse_graph(xml) == nodes
    path = tmp_path / "g.graph.xml"
    graph.write_graph(path, xml)
    assert graph.read_graph(path) == (nodes, xml)
    assert graph.graph_hash(xml) == graph.graph_hash(graph.to_xml(nodes))
    assert graph.graph_hash(xml) != graph.graph_hash(build(tmp_path, **{"speckle.looks": 2}))
    assert len(graph.graph_hash(xml)) == 16
    elsewhere = graph.to_xml(
        graph.chain_nodes(tmp_path / "x" / "p.zip", tmp_path / "x" / "o.tif", GRID, tmp_path / "x" / "d.tif", settings)
    )
    assert elsewhere != xml and graph.graph_hash(elsewhere) == graph.graph_hash(xml)  # paths are not the chain


def test_a_broken_chain_is_named(tmp_path):
    nodes = graph.parse_graph(build(tmp_path))
    with pytest.raises(ConfigError, match="the chain lacks Speckle-Filter"):
        graph.check_chain([n for n in nodes if n.operator != "Speckle-Filter"], "g.xml")
    relinked = [
        graph.Node(n.id, n.operator, ("Read",) if n.id == "Calibration" else n.sources, n.parameters) for n in nodes
    ]
    message = r"g.xml: node Calibration \(Calibration\) must take its source from Remove-GRD-Border-Noise"
    with pytest.raises(ConfigError, match=message):
        graph.check_chain(relinked, "g.xml")
    with pytest.raises(ConfigError, match=r"operators \['Multilook'\] are not part"):
        graph.check_chain(nodes + [graph.Node("ML", "Multilook", ("Write",), {})], "g.xml")
    with pytest.raises(ConfigError, match="g.xml: graph XML does not parse"):
        graph.parse_graph("<graph><node>", "g.xml")
    with pytest.raises(ConfigError, match="g.xml: node Speckle-Filter parameter numLooksStr='two' is not a valid int"):
        node = graph.Node("Speckle-Filter", "Speckle-Filter", (), {"numLooksStr": "two"})
        graph.parameter(node, "numLooksStr", "g.xml", int)
    with pytest.raises(ConfigError, match="has no parameter sigmaStr"):
        graph.parameter(graph.Node("Speckle-Filter", "Speckle-Filter", (), {}), "sigmaStr", "g.xml")


def test_missing_settings_are_named(tmp_path):
    settings = sentinel1_settings()
    del settings["speckle"]
    with pytest.raises(ConfigError, match="config key sentinel1.speckle is missing"):
        graph.build_graph(tmp_path / "p.zip", tmp_path / "o.tif", GRID, tmp_path / "d.tif", settings)


def test_window_sizes():
    assert graph.window_size("7x7") == 7
    for bad in ("7x5", "7", "axa"):
        with pytest.raises(ValueError):
            graph.window_size(bad)


def test_the_default_graph_has_none_of_the_options(tmp_path):
    """sigma0 without the ARD layers, ESA's range polynomials: no Terrain-Flattening, no noise output, no
    applicationData; the graph is the thesis' chain as it was."""
    xml = build(tmp_path)
    root = etree.fromstring(xml.encode())
    assert root.find("applicationData") is None and graph.read_application(xml) == {}
    ops = [n.findtext("operator") for n in root.findall("node")]
    assert "Terrain-Flattening" not in ops
    tnr = root.find("node[@id='ThermalNoiseRemoval']/parameters")
    assert tnr.find("outputNoise") is None


def test_gamma0_calibrates_to_beta0_and_flattens_before_terrain_correction(tmp_path):
    xml = build(tmp_path, radiometry="gamma0", **{"terrain_flattening.oversampling_multiple": 2.0})
    nodes = {n.id: n for n in graph.parse_graph(xml)}
    by_op = graph.check_chain(list(nodes.values()))
    assert [n.operator for n in graph.parse_graph(xml)] == [
        "Read",
        "Apply-Orbit-File",
        "ThermalNoiseRemoval",
        "Remove-GRD-Border-Noise",
        "Calibration",
        "Speckle-Filter",
        "Terrain-Flattening",
        "Subset",
        "Terrain-Correction",
        "Write",
    ]
    cal = by_op["Calibration"].parameters
    assert (cal["outputBetaBand"], cal["outputSigmaBand"]) == ("true", "false")
    assert by_op["Speckle-Filter"].parameters["sourceBands"] == "Beta0_VV,Beta0_VH"
    tf = by_op["Terrain-Flattening"].parameters
    assert tf["sourceBands"] == "Beta0_VV,Beta0_VH" and tf["oversamplingMultiple"] == "2.0"
    assert tf["externalDEMFile"] == by_op["Terrain-Correction"].parameters["externalDEMFile"]
    assert tf["outputSimulatedImage"] == tf["outputSigma0"] == "false"
    assert by_op["Subset"].sources == ("Terrain-Flattening",)
    assert by_op["Terrain-Correction"].parameters["sourceBands"] == "Gamma0_VV,Gamma0_VH"


def test_the_ard_layers_and_snaps_range_polynomials_are_in_the_graph(tmp_path):
    xml = build(tmp_path, radiometry="gamma0", ard_layers=True, range_polynomial="interpolated")
    by_op = {n.operator: n for n in graph.parse_graph(xml)}
    assert by_op["ThermalNoiseRemoval"].parameters["outputNoise"] == "true"
    tf = by_op["Terrain-Flattening"].parameters
    assert tf["outputSimulatedImage"] == tf["outputSigma0"] == "true"
    assert graph.read_application(xml) == {"rangePolynomial": "interpolated"}
    with pytest.raises(ConfigError, match="sentinel1.ard_layers: the CEOS-ARD layers are written by the builtin"):
        build(tmp_path, engine="snap", ard_layers=True)
