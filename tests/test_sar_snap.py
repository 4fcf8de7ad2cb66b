"""Engine snap at its boundary: the gpt command line, gpt's failures and reading its GeoTIFF back.

SNAP cannot run here: the tests put a test double named `gpt` (fake_gpt_test_double.py
behind it) on a private folder. It records its argv, then either writes a GeoTIFF with
SNAP's band names where the graph's Write node says, or exits 1 with a Java-like stderr.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from soilsat.errors import ConfigError, ProductError
from soilsat.grid import region_grid
from soilsat.sar import graph, snap

from test_sar_graph import sentinel1_settings

GRID = region_grid("t", 8.95, 55.95, 1500, 250)

FAKE_GPT = textwrap.dedent('''\
    #!{python}
    """TEST DOUBLE for ESA SNAP's gpt: records argv; writes SNAP-like output or fails (see MODE)."""
    import json, os, sys
    from pathlib import Path
    from lxml import etree
    import numpy as np, rasterio
    from affine import Affine

    here = Path(__file__).parent
    (here / "argv.json").write_text(json.dumps(sys.argv[1:]))
    mode = (here / "MODE").read_text().strip()
    write = next(n for n in etree.parse(sys.argv[2]).getroot().findall("node") if n.findtext("operator") == "Write")
    target = Path(write.findtext("parameters/file"))
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "fail":
        target.write_bytes(b"partial")  # a half-written output gpt leaves behind
        print("INFO: org.esa.snap.core.gpf.operators.tooladapter: reading graph", file=sys.stdout)
        for k in range(30):
            print(f"SEVERE: stack frame {{k}}", file=sys.stderr)
        print("Error: [NodeId: Terrain-Correction] The DEM 'dem.tif' does not cover the product", file=sys.stderr)
        sys.exit(1)
    spec = json.loads((here / "OUTPUT").read_text())
    names = spec["names"]
    data = np.load(here / "bands.npy")
    t = Affine(*spec["transform"])
    with rasterio.open(target, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=len(names),
                       dtype="float32", crs=spec["crs"], transform=t, BIGTIFF="YES") as dst:
        dst.write(data.astype("float32"))
        for i, n in enumerate(names, start=1):
            dst.set_band_description(i, n)
''')


@pytest.fixture
def fake_gpt(tmp_path):
    """A folder holding the gpt test double; returns it (write MODE/OUTPUT/bands.npy into it)."""
    folder = tmp_path / "fake-snap-bin"
    folder.mkdir()
    exe = folder / "gpt"
    exe.write_text(FAKE_GPT.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    (folder / "MODE").write_text("ok")
    return folder


def snap_section(fake: Path | None, **overrides) -> dict:
    section = sentinel1_settings(engine="snap")["snap"]
    if fake is not None:
        section["gpt"] = str(fake / "gpt")
    section.update(overrides)
    return section


def write_graph(tmp_path: Path) -> tuple[Path, Path]:
    """A graph for the tiny grid whose Write node targets a staging file; returns (graph, staging)."""
    staging = tmp_path / "out" / ".p.snap.tif"
    xml = graph.build_graph(tmp_path / "p.zip", staging, GRID, tmp_path / "dem.tif", sentinel1_settings())
    path = tmp_path / "out" / "p.tif.graph.xml"
    graph.write_graph(path, xml)
    return path, staging


def snap_output(folder: Path, names: list[str], pad: int = 3) -> dict[str, np.ndarray]:
    """Tell the double to write SNAP-like bands on a grid aligned to the study grid, `pad` pixels larger."""
    h, w = GRID.height + 2 * pad, GRID.width + 2 * pad
    rng = np.random.default_rng(0)
    bands = {
        "Sigma0_VV": rng.uniform(0.01, 0.2, (h, w)), "Sigma0_VH": rng.uniform(0.001, 0.05, (h, w)),
        "incidenceAngleFromEllipsoid": np.tile(np.linspace(30, 45, w), (h, 1)),
        "localIncidenceAngle": np.tile(np.linspace(20, 50, w), (h, 1)), "layoverShadowMask": np.zeros((h, w)),
    }
    bands["Sigma0_VV"][pad + 5, pad + 6] = 0.0  # SNAP's no-data
    bands["layoverShadowMask"][pad + 10, pad + 10] = 1  # layover
    bands["layoverShadowMask"][pad + 11, pad + 10] = 2  # shadow
    bands["layoverShadowMask"][pad + 12, pad + 10] = 3  # both
    r = GRID.resolution
    transform = Affine(r, 0, GRID.x0 - pad * r, 0, -r, GRID.y0 + pad * r)
    np.save(folder / "bands.npy", np.stack([bands[n] for n in names]))
    (folder / "OUTPUT").write_text(json.dumps({"names": names, "transform": list(transform)[:6], "crs": GRID.crs}))
    return {k: v[pad:-pad, pad:-pad] for k, v in bands.items()}


def test_the_gpt_command_line():
    settings = snap.settings_from_config(snap_section(None))
    assert snap.memory_split(8000, settings) == (6000, 3600)
    assert snap.gpt_command("/opt/snap/bin/gpt", "g.xml", 4, 8000, settings) == [
        "/opt/snap/bin/gpt", "-J-Xmx6000M", "g.xml", "-q", "4", "-c", "3600M", "-e"]


def test_gpt_output_read_back_onto_the_grid(tmp_path, fake_gpt):
    graph_path, staging = write_graph(tmp_path)
    names = ["Sigma0_VV", "Sigma0_VH", "incidenceAngleFromEllipsoid", "localIncidenceAngle", "layoverShadowMask"]
    truth = snap_output(fake_gpt, names)
    ds = snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], snap_section(fake_gpt), threads=2, mem_mb=4000)
    argv = json.loads((fake_gpt / "argv.json").read_text())
    assert argv == ["-J-Xmx3000M", str(graph_path), "-q", "2", "-c", "1800M", "-e"]
    assert list(ds.data_vars) == ["sigma0_VV", "sigma0_VH", "incidence_angle", "local_incidence_angle", "mask"]
    vv = ds["sigma0_VV"].values
    assert np.isnan(vv[5, 6])
    ok = np.isfinite(vv)
    np.testing.assert_allclose(vv[ok], truth["Sigma0_VV"][ok], rtol=1e-6)
    np.testing.assert_allclose(ds["local_incidence_angle"].values, truth["localIncidenceAngle"], rtol=1e-6)
    np.testing.assert_allclose(ds["incidence_angle"].values, truth["incidenceAngleFromEllipsoid"], rtol=1e-6)
    mask = ds["mask"].values
    assert (mask[5, 6], mask[10, 10], mask[11, 10], mask[12, 10], mask[0, 0]) == (0, 2, 3, 2, 1)
    assert not staging.exists()  # SNAP's own GeoTIFF is not kept


def test_gpt_failure_quotes_stderr_and_leaves_nothing(tmp_path, fake_gpt):
    graph_path, staging = write_graph(tmp_path)
    (fake_gpt / "MODE").write_text("fail")
    with pytest.raises(snap.SnapError) as err:
        snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], snap_section(fake_gpt), threads=1, mem_mb=2000)
    message = str(err.value)
    assert f"gpt failed on {graph_path} (exit 1)" in message
    assert message.endswith("Error: [NodeId: Terrain-Correction] The DEM 'dem.tif' does not cover the product")
    assert "stack frame 29" in message and "stack frame 5\n" not in message  # the last lines only
    assert not staging.exists()
    assert sorted(p.name for p in staging.parent.iterdir()) == ["p.tif.graph.xml"]


def test_missing_bands_in_snap_output_are_named(tmp_path, fake_gpt):
    graph_path, staging = write_graph(tmp_path)
    snap_output(fake_gpt, ["Sigma0_VV", "incidenceAngleFromEllipsoid", "localIncidenceAngle", "layoverShadowMask"])
    with pytest.raises(ProductError, match=r"\.p\.snap\.tif: SNAP output lacks bands \['sigma0_VH'\]"):
        snap.run_graph(graph_path, staging, GRID, ["VV", "VH"], snap_section(fake_gpt), threads=1, mem_mb=2000)
    assert not staging.exists()


def test_missing_snap_says_how_to_install_or_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        snap.preflight(snap_section(None))
    assert "SNAP's 'gpt' is not on PATH" in str(err.value)
    assert "install ESA SNAP" in str(err.value) and "`sentinel1.engine: builtin`" in str(err.value)
    with pytest.raises(ConfigError, match="sentinel1.snap.gpt: /nowhere/gpt is not an executable file"):
        snap.preflight(snap_section(None, gpt="/nowhere/gpt"))
    snap.preflight(snap_section(None, container="docker://example/snap@sha256:" + "0" * 64))  # checked in the image


def test_missing_esa_snappy(monkeypatch):
    monkeypatch.setitem(sys.modules, "esa_snappy", None)  # as if not installed
    with pytest.raises(ConfigError, match="esa_snappy module is not installed.*sentinel1.engine: builtin"):
        snap.preflight(snap_section(None, interface="esa-snappy"))


def test_fake_gpt_is_found_on_path(tmp_path, fake_gpt, monkeypatch):
    monkeypatch.setenv("PATH", f"{fake_gpt}{os.pathsep}{os.environ['PATH']}")
    assert snap.find_gpt(snap.settings_from_config(snap_section(None))) == str(fake_gpt / "gpt")
