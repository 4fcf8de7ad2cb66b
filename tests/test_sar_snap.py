"""Engine snap at its boundary, against a stand-in as strict as SNAP (tests/snap_double, not SNAP).

The stand-in checks every operator and parameter of the graph against a table read from SNAP
13's Java sources, rejects what gpt's command line rejects, looks for orbit files where SNAP
looks, places Terrain-Correction's pixels by SNAP's pixel-centre convention and writes
BEAM-DIMAP as SNAP's writer does. Its scene is a known field of map coordinates with point
targets at known places, so each pixel read back can be checked exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine

from conftest import ROOT
from soilsat.demo import orbit as demo_orbit
from soilsat.errors import ConfigError, ProductError
from soilsat.grid import region_grid
from soilsat.sar import graph, snap
from test_sar_graph import sentinel1_settings
from test_sar_orbit import write_eof

DOUBLE = ROOT / "tests" / "snap_double"
sys.path.insert(0, str(DOUBLE))
import standin  # noqa: E402

GRID = region_grid("t", 8.95, 55.95, 1500, 250)
PASS = dict(lon=8.95, lat=55.95, date="2020-04-05", direction="ASCENDING")
TARGET = {"lon": 8.951, "lat": 55.952, "sigma0": 1.5, "mask": 2}  # a corner reflector in shadow
NAMES = ["Sigma0_VV", "Sigma0_VH", "incidenceAngleFromEllipsoid", "localIncidenceAngle", "layoverShadowMask"]


@pytest.fixture(scope="module")
def orbit():
    """The demo orbit of the pass, at 10 s, and its time at the middle."""
    coarse = demo_orbit.pass_orbit(**PASS, step_s=10.0, half_span_s=300.0)
    return coarse, coarse.datetimes(coarse.time[len(coarse.time) // 2]).astype("datetime64[s]").astype(dt.datetime)


@pytest.fixture(autouse=True)
def venv_python_first(monkeypatch, tmp_path):
    """The stand-in runs with `python3` from PATH (this environment's), and SNAP's default auxdata is empty."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("_JAVA_OPTIONS", "INSTALL4J_ADD_VM_PARAMS"):
        monkeypatch.delenv(var, raising=False)


def product_zip(folder: Path, sensing: dt.datetime, targets: list[dict] = (TARGET,)) -> Path:
    """A GRD product zip the stand-in reads: its name, a manifest footprint around the grid, and the scene's targets."""
    start, stop = sensing - dt.timedelta(seconds=10), sensing + dt.timedelta(seconds=15)
    name = f"S1A_IW_GRDH_1SDV_{start:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_032000_03B2D2_ABCD"
    w, s, e, n = GRID.lonlat_bounds()
    ring = [(s - 0.2, w - 0.3), (s - 0.2, e + 0.3), (n + 0.2, e + 0.3), (n + 0.2, w - 0.3)]
    coords = " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in ring)
    path = folder / f"{name}.zip"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            f"{name}.SAFE/manifest.safe",
            f'<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" '
            f'xmlns:gml="http://www.opengis.net/gml"><gml:coordinates>{coords}</gml:coordinates></xfdu:XFDU>',
        )
        z.writestr(f"{name}.SAFE/{standin.SCENE_MEMBER}", json.dumps({"targets": list(targets)}))
    return path


def dem_file(folder: Path) -> Path:
    """A small DEM GeoTIFF over the grid (Terrain-Correction needs the file to exist)."""
    path = folder / "dem_t.tif"
    folder.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs=GRID.crs,
        transform=Affine(600.0, 0, GRID.x0 - 300, 0, -600.0, GRID.y0 + 300),
    ) as dst:
        dst.write(np.full((1, 4, 4), 40.0, dtype=np.float32))
    return path


def eof_for(folder: Path, coarse, sensing: dt.datetime, shift_h: float = 0.0, kind: str = "POEORB") -> Path:
    """An orbit file valid 13 h either side of the sensing time (shifted by `shift_h`), named as delivered."""
    start = sensing - dt.timedelta(hours=13 - shift_h)
    stop = sensing + dt.timedelta(hours=13 + shift_h)
    folder.mkdir(parents=True, exist_ok=True)
    return write_eof(
        folder / "S1A_IW_GRDH_product.EOF", coarse, dt.datetime(2021, 3, 2, 10, 32, 53), start, stop, kind=kind
    )


def setup(tmp_path: Path, sensing: dt.datetime, orbit_kind: str | None = None, **overrides) -> tuple[Path, Path]:
    """A graph for the grid (the config's chain, Subset on) whose Write node targets a staging .dim."""
    product = product_zip(tmp_path / "in", sensing)
    staging = tmp_path / "out" / ".p.snap.dim"
    xml = graph.build_graph(
        product, staging, GRID, dem_file(tmp_path / "dem"), sentinel1_settings(**overrides), orbit_kind=orbit_kind
    )
    path = tmp_path / "out" / "p.tif.graph.xml"
    graph.write_graph(path, xml)
    return path, staging


def section(**overrides) -> dict:
    """The `sentinel1.snap` section running the stand-in."""
    return sentinel1_settings(engine="snap")["snap"] | {"gpt": str(DOUBLE / "gpt")} | overrides


def edit(path: Path, node: str, name: str, value: str | None) -> None:
    """Set (or, with None, remove) one parameter of one node of a graph file."""
    nodes = graph.parse_graph(path.read_text())
    for n in nodes:
        if n.id == node:
            if value is None:
                n.parameters.pop(name)
            else:
                n.parameters[name] = value
    graph.write_graph(path, graph.to_xml(nodes))


def stand_in(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(DOUBLE / "gpt"), *argv], capture_output=True, text=True, env=env)


# ---- the table and the graph ---------------------------------------------------------------------------


def test_the_table_is_snaps_and_accepts_every_parameter_of_the_graph(tmp_path, orbit):
    assert standin.TABLE["snap_version"] == "13.0.0"
    assert standin.TABLE["operators"]["Speckle-Filter"]["source"] == (
        "senbox-org/microwave-toolbox 13.0.0 "
        "sar-op-sar-processing/src/main/java/eu/esa/sar/sar/gpf/filtering/SpeckleFilterOp.java"
    )
    speckle = standin.TABLE["operators"]["Speckle-Filter"]["parameters"]
    assert "targetWindowSize" not in speckle and speckle["targetWindowSizeStr"]["valueSet"] == ["3x3", "5x5"]
    graph_path, _ = setup(tmp_path, orbit[1])
    nodes = standin.load_graph(str(graph_path))
    assert [n["operator"] for n in nodes] == [
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
    checked = {n["id"]: standin.checked_parameters(n) for n in nodes}
    assert sum(len(n["parameters"]) for n in nodes) == 54  # every one of them named in the table
    speckle_values = checked["Speckle-Filter"]
    assert speckle_values["targetWindowSizeStr"] == "3x3" and speckle_values["windowSize"] == "7x7"
    assert checked["Write"]["formatName"] == "BEAM-DIMAP"


@pytest.mark.parametrize(
    "node, name, value, message",
    [
        ("Speckle-Filter", "targetWindowSize", "3x3", "[NodeId: Speckle-Filter] Unknown element 'targetWindowSize'"),
        ("Speckle-Filter", "windowSize", "8x8", "[NodeId: Speckle-Filter] Value for 'Window Size' is invalid: '8x8'"),
        (
            "Terrain-Correction",
            "pixelSpacingInMeter",
            "ten",
            "[NodeId: Terrain-Correction] Cannot convert 'ten' to double for parameter 'pixelSpacingInMeter'",
        ),
        ("Subset", "region", "", None),  # an empty element is no value, as ceres reads it
    ],
)
def test_the_stand_in_is_as_strict_as_gpf(tmp_path, orbit, node, name, value, message):
    graph_path, staging = setup(tmp_path, orbit[1])
    edit(graph_path, node, name, value)
    if message is None:
        snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=1, mem_mb=2000)
        return
    with pytest.raises(snap.SnapError) as err:
        snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=1, mem_mb=2000)
    assert str(err.value).endswith(f"Error: {message}")
    assert sorted(p.name for p in staging.parent.iterdir()) == ["p.tif.graph.xml"]


# ---- the command line, the heap and the threads -------------------------------------------------------


def test_gpt_takes_no_heap_flag_the_environment_sets_it(tmp_path, orbit):
    graph_path, _ = setup(tmp_path, orbit[1])
    refused = stand_in("-J-Xmx3000M", str(graph_path), "-q", "2")
    assert refused.returncode == 1 and refused.stderr.strip() == "Error: Unknown option '-J-Xmx3000M'"
    settings = snap.SnapSettings.from_config(section())
    assert snap.memory_split(4000, settings) == (3000, 1800)
    assert snap.gpt_command("/opt/snap/bin/gpt", "g.xml", 4, 1800, {"b": "2", "a": "1"}) == [
        "/opt/snap/bin/gpt",
        "g.xml",
        "-q",
        "4",
        "-c",
        "1800M",
        "-e",
        "-Da=1",
        "-Db=2",
    ]
    env = snap.heap_environment(3000, {"PATH": "/bin", "_JAVA_OPTIONS": "-Djava.io.tmpdir=/scratch"})
    assert env == {
        "PATH": "/bin",
        "INSTALL4J_ADD_VM_PARAMS": "-Xmx3000M",
        "_JAVA_OPTIONS": "-Djava.io.tmpdir=/scratch -Xmx3000M",
    }
    assert standin.jvm_heap_mb({}) == 4096 and standin.jvm_heap_mb(env) == 3000  # a plain gpt script's -Xmx4G loses


def test_the_job_reaches_gpt_with_its_threads_cache_heap_and_orbit(tmp_path, orbit, monkeypatch):
    coarse, sensing = orbit
    graph_path, staging = setup(tmp_path, sensing, orbit_kind="POEORB")
    eof = eof_for(tmp_path / "orbits", coarse, sensing)
    monkeypatch.setenv("SNAP_STANDIN_RECORD", str(tmp_path / "record.json"))
    snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=3, mem_mb=4000, orbit_files=[eof])
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["argv"][:6] == [str(graph_path), "-q", "3", "-c", "1800M", "-e"]
    assert (record["threads"], record["cache_bytes"], record["heap_mb"]) == (3, 1800 << 20, 3000)
    assert set(record["properties"]) == {"OrbitFiles.sentinel1POEOrbitPath", "OrbitFiles.sentinel1RESOrbitPath"}
    assert not [p for p in staging.parent.iterdir() if p.name.startswith(".p")]  # staging and orbit folder removed


# ---- reading SNAP's output back ---------------------------------------------------------------------------


def test_snap_output_is_the_study_grid_window_pixel_for_pixel(tmp_path, orbit):
    graph_path, staging = setup(tmp_path, orbit[1])
    ds = snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=2, mem_mb=4000)
    assert list(ds.data_vars) == ["sigma0_VV", "sigma0_VH", "incidence_angle", "local_incidence_angle", "mask"]
    xx, yy = np.meshgrid(GRID.x_coords(), GRID.y_coords())
    expected = standin.field_sigma0(xx, yy, "VV")
    tx, ty = pyproj.Transformer.from_crs("EPSG:4326", GRID.crs, always_xy=True).transform(TARGET["lon"], TARGET["lat"])
    row, col = (int(v) for v in GRID.rowcol(tx, ty))
    expected[row, col] = TARGET["sigma0"]
    np.testing.assert_array_equal(ds["sigma0_VV"].values, expected)  # no resampling: SNAP's values, in place
    assert ds["sigma0_VV"].values[row, col] == 1.5 and ds["mask"].values[row, col] == 3  # the reflector, in shadow
    assert (ds["mask"].values == 1).sum() == GRID.width * GRID.height - 1
    np.testing.assert_array_equal(ds["sigma0_VH"].values[row + 1], standin.field_sigma0(xx, yy, "VH")[row + 1])
    assert not staging.exists() and not staging.with_suffix(".data").exists()


def test_gamma0_runs_terrain_flattening_and_reads_gamma0_back(tmp_path, orbit):
    """radiometry gamma0: Calibration to beta0, Terrain-Flattening with SNAP's parameters (checked against
    TerrainFlatteningOp's @Parameter fields), Gamma0_ bands geocoded and read back as gamma0_."""
    graph_path, staging = setup(tmp_path, orbit[1], radiometry="gamma0")
    nodes = {n.id: n for n in graph.parse_graph(graph_path.read_text())}
    tf = nodes["Terrain-Flattening"]
    assert set(tf.parameters) <= set(standin.TABLE["operators"]["Terrain-Flattening"]["parameters"])
    assert tf.parameters["sourceBands"] == "Beta0_VV,Beta0_VH" and tf.parameters["additionalOverlap"] == "0.1"
    assert tf.parameters["oversamplingMultiple"] == "1.0" and tf.parameters["externalDEMApplyEGM"] == "false"
    assert nodes["Terrain-Correction"].parameters["sourceBands"] == "Gamma0_VV,Gamma0_VH"
    ds = snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=2, mem_mb=4000, radiometry="gamma0")
    assert list(ds.data_vars) == ["gamma0_VV", "gamma0_VH", "incidence_angle", "local_incidence_angle", "mask"]
    assert ds["gamma0_VV"].attrs["long_name"] == "gamma0 VV (linear, terrain-flattened)"


def test_terrain_flattening_refuses_sigma0_as_snap_does(tmp_path, orbit):
    graph_path, staging = setup(tmp_path, orbit[1], radiometry="gamma0")
    edit(graph_path, "Calibration", "outputBetaBand", "false")
    edit(graph_path, "Calibration", "outputSigmaBand", "true")
    edit(graph_path, "Speckle-Filter", "sourceBands", "Sigma0_VV,Sigma0_VH")
    edit(graph_path, "Terrain-Flattening", "sourceBands", "Sigma0_VV,Sigma0_VH")
    with pytest.raises(snap.SnapError, match="TerrainFlattening requires beta0 as input"):
        snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=1, mem_mb=2000)
    edit(graph_path, "Terrain-Flattening", "oversamplingMultiple", "5.0")
    with pytest.raises(snap.SnapError, match=r"Value for 'Oversampling Multiple' is out of range \[1, 4\]"):
        snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=1, mem_mb=2000)


def test_a_corner_origin_is_half_a_pixel_off_and_refused(tmp_path, orbit):
    graph_path, staging = setup(tmp_path, orbit[1])
    edit(graph_path, "Terrain-Correction", "standardGridOriginX", repr(float(GRID.x0)))
    edit(graph_path, "Terrain-Correction", "standardGridOriginY", repr(float(GRID.y0)))
    with pytest.raises(ProductError) as err:
        snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=1, mem_mb=2000)
    assert str(err.value) == (
        f"{staging}: SNAP output pixels are offset by (-0.500, -0.500) pixels (row, col) from "
        "the study grid's; Terrain-Correction's standardGridOriginX/Y must be a pixel centre of "
        "the grid"
    )


def test_the_dimap_header_names_the_bands_and_places_them(tmp_path, orbit):
    graph_path, staging = setup(tmp_path, orbit[1])
    edit(graph_path, "Write", "file", str(tmp_path / "kept.dim"))
    standin.run(str(graph_path), {}, print)
    from soilsat.sar import dimap

    product = dimap.read_header(tmp_path / "kept.dim")
    assert list(product.bands) == NAMES
    assert product.bands["layoverShadowMask"].dtype == ">i1" and product.bands["Sigma0_VV"].dtype == ">f4"
    assert product.bands["Sigma0_VV"].image == tmp_path / "kept.data" / "Sigma0_VV.img"
    row, col = dimap.grid_offset(product, GRID)
    assert (product.transform.c + col * 10, product.transform.f - row * 10) == (GRID.x0, GRID.y0)
    assert row > 0 and col > 0  # the Subset margin lies around the grid


def test_missing_bands_are_named(tmp_path, orbit):
    graph_path, staging = setup(tmp_path, orbit[1])
    edit(graph_path, "Terrain-Correction", "saveLayoverShadowMask", "false")
    with pytest.raises(
        ProductError,
        match=r"\.p\.snap\.dim: SNAP output lacks bands \['mask'\] \(it has "
        r"\['Sigma0_VH', 'Sigma0_VV', 'incidenceAngleFromEllipsoid', "
        r"'localIncidenceAngle'\]\)",
    ):
        snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=1, mem_mb=2000)
    assert not staging.exists()


# ---- orbits -----------------------------------------------------------------------------------------------


def test_the_acquired_orbit_is_handed_over_and_applied(tmp_path, orbit, caplog):
    coarse, sensing = orbit
    graph_path, staging = setup(tmp_path, sensing, orbit_kind="POEORB")
    nodes = {n.id: n for n in graph.parse_graph(graph_path.read_text())}
    assert nodes["Apply-Orbit-File"].parameters == {
        "orbitType": "Sentinel Precise (Auto Download)",
        "polyDegree": "3",
        "continueOnFail": "false",
    }
    eof = eof_for(tmp_path / "orbits", coarse, sensing)
    caplog.set_level("INFO", logger="soilsat")
    snap.run_graph(graph_path, staging, GRID, ["VV"], section(), threads=1, mem_mb=2000, orbit_files=[eof])
    stamp = "%Y%m%dT%H%M%S"
    name = (
        f"S1A_OPER_AUX_POEORB_OPOD_20210302T103253_V{sensing - dt.timedelta(hours=13):{stamp}}_"
        f"{sensing + dt.timedelta(hours=13):{stamp}}.EOF"
    )
    assert f"orbit file S1A_IW_GRDH_product.EOF handed to SNAP as {name}" in caplog.text
    assert f"SNAP applied orbit: Sentinel Precise {name}" in caplog.text


def test_an_orbit_that_does_not_cover_the_product_fails_the_job(tmp_path, orbit):
    coarse, sensing = orbit
    graph_path, staging = setup(tmp_path, sensing, orbit_kind="POEORB")
    eof = eof_for(tmp_path / "orbits", coarse, sensing, shift_h=20)  # valid from 7 h after sensing
    with pytest.raises(snap.SnapError) as err:
        snap.run_graph(graph_path, staging, GRID, ["VV"], section(), threads=1, mem_mb=2000, orbit_files=[eof])
    assert "Error: [NodeId: Apply-Orbit-File] No valid orbit file found for 05-Apr-2020" in str(err.value)
    assert not staging.exists()


def test_an_orbit_snap_did_not_apply_fails_the_job(tmp_path, orbit, caplog):
    coarse, sensing = orbit
    graph_path, staging = setup(tmp_path, sensing, orbit_kind="POEORB")
    edit(graph_path, "Apply-Orbit-File", "continueOnFail", "true")  # a graph edited to go on without it
    eof = eof_for(tmp_path / "orbits", coarse, sensing, shift_h=20)
    with pytest.raises(snap.SnapError) as err:
        snap.run_graph(graph_path, staging, GRID, ["VV"], section(), threads=1, mem_mb=2000, orbit_files=[eof])
    assert str(err.value).startswith(
        "SNAP did not apply the precise orbit it was given: asked for S1A_OPER_AUX_POEORB_OPOD_20210302T103253_V2020"
    )
    assert str(err.value).endswith("its output records 'no orbit file' (Abstracted_Metadata orbit_state_vector_file)")
    assert not staging.exists()


def test_without_an_orbit_file_the_configured_type_and_fallback_stay(tmp_path, orbit, caplog):
    graph_path, staging = setup(tmp_path, orbit[1])
    caplog.set_level("INFO", logger="soilsat")
    snap.run_graph(graph_path, staging, GRID, ["VV"], section(), threads=1, mem_mb=2000)
    assert "SNAP applied orbit: none recorded (the annotation's)" in caplog.text
    edit(graph_path, "Apply-Orbit-File", "continueOnFail", "false")
    with pytest.raises(snap.SnapError, match="No valid orbit file found"):
        snap.run_graph(graph_path, staging, GRID, ["VV"], section(), threads=1, mem_mb=2000)


# ---- failures and installation ----------------------------------------------------------------------------


def test_gpt_failure_quotes_stderr_and_leaves_nothing(tmp_path, orbit):
    graph_path, staging = setup(tmp_path, orbit[1])
    (tmp_path / "dem" / "dem_t.tif").unlink()
    with pytest.raises(snap.SnapError) as err:
        snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], section(), threads=1, mem_mb=2000)
    message = str(err.value)
    assert message.startswith(f"gpt failed on {graph_path} (exit 1):\n")
    assert "\norg.esa.snap.core.gpf.graph.GraphException: [NodeId: Terrain-Correction]" in message
    assert message.endswith(
        f"Error: [NodeId: Terrain-Correction] External DEM file {tmp_path / 'dem' / 'dem_t.tif'} does not exist"
    )
    assert sorted(p.name for p in staging.parent.iterdir()) == ["p.tif.graph.xml"]


def test_esa_snappy_gets_the_jobs_heap_threads_and_orbit(tmp_path, orbit, monkeypatch):
    coarse, sensing = orbit
    graph_path, staging = setup(tmp_path, sensing, orbit_kind="POEORB")
    eof = eof_for(tmp_path / "orbits", coarse, sensing)
    monkeypatch.setenv("PYTHONPATH", str(DOUBLE))
    monkeypatch.syspath_prepend(str(DOUBLE))
    monkeypatch.setenv("SNAP_STANDIN_RECORD", str(tmp_path / "record.json"))
    ds = snap.run_graph(
        graph_path,
        staging,
        GRID,
        ["VV", "VH"],
        section(interface="esa-snappy"),
        threads=3,
        mem_mb=4000,
        orbit_files=[eof],
    )
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["java_max_mem"] == "3000M"
    assert record["java_options"][:2] == ["-Dsnap.parallelism=3", "-Dsnap.jai.tileCacheSize=1800"]
    assert set(record["properties"]) == {
        "snap.parallelism",
        "snap.jai.tileCacheSize",
        "OrbitFiles.sentinel1POEOrbitPath",
        "OrbitFiles.sentinel1RESOrbitPath",
    }
    assert ds["mask"].values.sum() > 0 and not staging.exists()


def test_missing_snap_says_how_to_install_or_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        snap.preflight(section(gpt="gpt"))
    assert "SNAP's 'gpt' is not on PATH" in str(err.value)
    assert "install ESA SNAP" in str(err.value) and "`sentinel1.engine: builtin`" in str(err.value)
    with pytest.raises(ConfigError, match="sentinel1.snap.gpt: /nowhere/gpt is not an executable file"):
        snap.preflight(section(gpt="/nowhere/gpt"))
    snap.preflight(section(container="docker://example/snap@sha256:" + "0" * 64))  # checked in the image


def test_missing_esa_snappy(monkeypatch):
    monkeypatch.setitem(sys.modules, "esa_snappy", None)  # as if not installed
    with pytest.raises(ConfigError, match="esa_snappy module is not installed.*sentinel1.engine: builtin"):
        snap.preflight(section(interface="esa-snappy"))


def test_the_stand_in_is_found_on_path(monkeypatch):
    monkeypatch.setenv("PATH", f"{DOUBLE}{os.pathsep}{os.environ['PATH']}")
    assert snap.find_gpt(snap.SnapSettings.from_config(section(gpt="gpt"))) == str(DOUBLE / "gpt")
