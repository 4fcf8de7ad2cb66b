"""Sen2Cor at its boundary: the command we build, the GIPP and home we hand over, and how we take over
(or refuse) what L2A_Process writes, against a stand-in of L2A_Process as strict as Sen2Cor
(tests/sen2cor_double/, not ESA's software); and the L1C route of the workflow end to end."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from conftest import ROOT, run_workflow, schema_section
from soilsat.demo.sentinel2 import write_products
from soilsat.demo.world import RegionSpec, WorldSpec, make_world
from soilsat.errors import ConfigError, ProductError
from soilsat.optical.process import OpticalSettings, l2a_on_grid
from soilsat.optical.safe import read_metadata
from soilsat.optical.sen2cor import (
    L1C_NAME,
    L2A_NAME,
    Sen2CorSettings,
    check_resolution,
    check_version,
    command,
    installed_version,
    job_gipp,
    parse_version,
    resolve_executable,
    resolve_gipp,
    resolve_schema,
    run_sen2cor,
    tail,
    timeout_from_runtime,
)

DOUBLE = ROOT / "tests" / "sen2cor_double"
BIN = DOUBLE / "bin"
GIPP = DOUBLE / "L2A_GIPP.xml"
SCHEMA = DOUBLE / "lib" / "python3" / "site-packages" / "sen2cor" / "cfg" / "L2A_GIPP.xsd"
PINNED = "docker://example.org/sen2cor@sha256:" + "ab" * 32


@pytest.fixture(scope="module", autouse=True)
def venv_python_first():
    """The doubles run with `python3` from PATH: make it this interpreter's environment."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        yield


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One region's L1C and L2A products (3 overpasses)."""
    spec = WorldSpec(
        regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),),
        start=dt.date(2020, 4, 1),
        end=dt.date(2020, 4, 25),
        probes_per_region=3,
        lucas_samples=10,
    )
    world = make_world(spec)
    root = tmp_path_factory.mktemp("s2c")
    rows = write_products(world, spec, root / "archive", root / "truth", workers=1)
    l1c = [root / "archive" / r["path"] for r in rows if r["product_type"] == "S2MSI1C"]
    l2a = [root / "archive" / r["path"] for r in rows if r["product_type"] == "S2MSI2A"]
    return world[0].grid, l1c, l2a


def sen2cor_settings(**changes: object) -> Sen2CorSettings:
    """The schema's Sen2Cor settings (sentinel2.sen2cor) with some changed."""
    return dataclasses.replace(Sen2CorSettings.from_config(schema_section("sentinel2.sen2cor")), **changes)


def double(mode: str = "", **overrides) -> Sen2CorSettings:
    """Settings that run one of the stand-ins."""
    name = "L2A_Process" + (f"_{mode}" if mode else "")
    return sen2cor_settings(**({"executable": str(BIN / name), "gipp": str(GIPP)} | overrides))


# ---- the command line, the version and the GIPP -------------------------------------------------------------


def test_native_command_is_sen2cors(tmp_path):
    cmd = command(
        sen2cor_settings(),
        "/opt/sen2cor/bin/L2A_Process",
        tmp_path / "in" / "A.SAFE",
        tmp_path / "out",
        tmp_path / "g.xml",
        tmp_path / "home",
        threads=4,
        mem_mb=6000,
    )
    assert cmd == [
        "/opt/sen2cor/bin/L2A_Process",
        "--resolution",
        "10",
        "--output_dir",
        str(tmp_path / "out"),
        "--GIP_L2A",
        str(tmp_path / "g.xml"),
        str(tmp_path / "in" / "A.SAFE"),
    ]


def test_container_commands_give_a_home_mounts_and_opt_in_limits(tmp_path):
    l1c, out, gipp, home = tmp_path / "in" / "A.SAFE", tmp_path / "out", tmp_path / "cfg" / "g.xml", tmp_path / "home"
    for p in (l1c.parent, out, gipp.parent, home):
        p.mkdir(parents=True)
    s = sen2cor_settings(container=PINNED, container_runtime="apptainer")
    cmd = command(s, "/usr/bin/apptainer", l1c, out, gipp, home, threads=3, mem_mb=6000)
    assert cmd[:7] == ["/usr/bin/apptainer", "exec", "--cleanenv", "--home", str(home), "--env", f"SEN2COR_HOME={home}"]
    assert "--cpus" not in cmd and "--memory" not in cmd  # cgroups v1 clusters refuse them to ordinary users
    binds = {cmd[i + 1] for i, a in enumerate(cmd) if a == "--bind"}
    assert binds == {f"{p.resolve()}:{p.resolve()}" for p in (l1c.parent, out, gipp.parent, home)}
    assert cmd[cmd.index(PINNED) + 1 :] == [
        "L2A_Process",
        "--resolution",
        "10",
        "--output_dir",
        str(out),
        "--GIP_L2A",
        str(gipp),
        str(l1c),
    ]
    limited = command(
        sen2cor_settings(container=PINNED, container_limits=True),
        "/usr/bin/apptainer",
        l1c,
        out,
        gipp,
        home,
        threads=3,
        mem_mb=6000,
    )
    assert limited[limited.index("--cpus") + 1] == "3" and limited[limited.index("--memory") + 1] == "6000M"
    d = command(
        sen2cor_settings(container=PINNED, container_runtime="docker"),
        "/usr/bin/docker",
        l1c,
        out,
        gipp,
        home,
        threads=2,
        mem_mb=4000,
    )
    assert d[:3] == ["/usr/bin/docker", "run", "--rm"] and d[d.index("--memory") + 1] == "4000m"
    assert f"HOME={home}" in d and f"SEN2COR_HOME={home}" in d  # not HOME=/ of a user without a passwd entry
    assert d[d.index("--entrypoint") + 1] == "L2A_Process" and d[d.index(PINNED) + 1] == "--resolution"


def test_container_must_be_pinned_and_runtime_present():
    with pytest.raises(ConfigError, match="sentinel2.sen2cor.container.*not pinned"):
        resolve_executable(sen2cor_settings(container="docker://example.org/sen2cor:2.11"))
    with pytest.raises(ConfigError, match="container_runtime.*no-such-runtime"):
        resolve_executable(sen2cor_settings(container=PINNED, container_runtime="no-such-runtime"))
    with pytest.raises(ConfigError, match="sentinel2.sen2cor.gipp_schema: set it to the image's L2A_GIPP.xsd"):
        resolve_schema(sen2cor_settings(container=PINNED), "/usr/bin/apptainer")


def test_missing_install_says_how_to_install_or_switch():
    with pytest.raises(ConfigError) as err:
        resolve_executable(sen2cor_settings(executable="L2A_Process_not_installed_here"))
    msg = str(err.value)
    assert "sentinel2.sen2cor.executable" in msg and "L2A_Process_not_installed_here" in msg
    assert "install Sen2Cor" in msg and "sentinel2.level: L2A" in msg and "\n" not in msg
    assert resolve_executable(double()) == str(BIN / "L2A_Process")
    assert resolve_schema(double(), str(BIN / "L2A_Process")) == SCHEMA  # the installation's cfg folder


def test_the_version_comes_from_the_help_and_old_ones_are_refused(monkeypatch):
    assert installed_version(double(), str(BIN / "L2A_Process")) == (2, 11, 0)
    monkeypatch.setenv("SEN2COR_STANDIN_VERSION", "2.9.0")
    assert installed_version(double(), str(BIN / "L2A_Process")) == (2, 9, 0)
    helped = "usage: ...\n\nSentinel-2 Level 2A Processor (Sen2Cor). Version: 2.12.3, created: 2024.11.20, supporting"
    assert parse_version(helped) == (2, 12, 3)
    with pytest.raises(ConfigError, match=r"^Sen2Cor 2\.9\.0 is installed; soilsat needs Sen2Cor 2\.10 or later"):
        check_version((2, 9, 0), "S2A_MSIL1C_20200405T103021_N0209_R108_T32UMF_20200405T124034.zip")
    name = "S2C_MSIL1C_20250405T103021_N0511_R108_T32UMF_20250405T124034.zip"
    with pytest.raises(ProductError) as err:
        check_version((2, 11, 0), name)
    assert str(err.value) == (
        f"{name}: is a S2C product, which Sen2Cor 2.11.0 cannot process; install Sen2Cor 2.12 or later"
    )
    check_version((2, 12, 0), name)


def test_the_default_gipp_is_the_installed_versions(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SEN2COR_HOME", raising=False)
    for version in ("2.9", "2.11", "2.10"):
        (tmp_path / "sen2cor" / version / "cfg").mkdir(parents=True)
        shutil.copy(GIPP, tmp_path / "sen2cor" / version / "cfg" / "L2A_GIPP.xml")
    assert resolve_gipp(sen2cor_settings()) == tmp_path / "sen2cor" / "2.11" / "cfg" / "L2A_GIPP.xml"  # 2.11 > 2.9
    assert resolve_gipp(sen2cor_settings(), (2, 10, 1)) == tmp_path / "sen2cor" / "2.10" / "cfg" / "L2A_GIPP.xml"
    with pytest.raises(ConfigError, match=r"no L2A_GIPP.xml under \$SEN2COR_HOME/cfg or ~/sen2cor/2.12/cfg"):
        resolve_gipp(sen2cor_settings(), (2, 12, 0))
    home = tmp_path / "home"
    (home / "cfg").mkdir(parents=True)
    shutil.copy(GIPP, home / "cfg" / "L2A_GIPP.xml")
    monkeypatch.setenv("SEN2COR_HOME", str(home))
    assert resolve_gipp(sen2cor_settings(), (2, 11, 0)) == home / "cfg" / "L2A_GIPP.xml"
    with pytest.raises(ConfigError, match="sentinel2.sen2cor.gipp.*nothing.xml"):
        resolve_gipp(sen2cor_settings(gipp=str(tmp_path / "nothing.xml")))


def test_gipp_copy_sets_threads_capped_and_validated(tmp_path, caplog):
    out = job_gipp(GIPP, tmp_path / "g.xml", threads=3, schema=SCHEMA)
    text, original = out.read_text(), GIPP.read_text()
    assert "<Nr_Threads>3</Nr_Threads>" in text and "<Nr_Threads>AUTO</Nr_Threads>" in original
    assert text.replace("<Nr_Threads>3<", "<Nr_Threads>AUTO<") == original
    caplog.set_level(logging.INFO, logger="soilsat")
    assert "<Nr_Threads>8</Nr_Threads>" in job_gipp(GIPP, tmp_path / "g16.xml", threads=16, schema=SCHEMA).read_text()
    assert "Sen2Cor's Nr_Threads takes 1 to 8: 16 threads become 8" in caplog.text
    bad = tmp_path / "bad.xml"
    bad.write_text("<Level-2A_Ground_Image_Processing_Parameter/>")
    with pytest.raises(ProductError, match="bad.xml.*Nr_Threads"):
        job_gipp(bad, tmp_path / "x.xml", 1)


def test_a_gipp_of_an_older_sen2cor_is_refused_before_the_run(tmp_path):
    old = tmp_path / "L2A_GIPP_2.9.xml"  # 2.9's GIPP has no Region_Of_Interest, which 2.11's schema requires
    text = GIPP.read_text()
    old.write_text(text[: text.index("    <Region_Of_Interest>")] + text[text.index("    <Product_DOI>") :])
    with pytest.raises(ConfigError) as err:
        job_gipp(old, tmp_path / "g.xml", threads=2, schema=SCHEMA)
    assert str(err.value) == (
        f"config key sentinel2.sen2cor.gipp: {old} does not validate against Sen2Cor's {SCHEMA} (line 6: Element "
        "'Product_DOI': This element is not expected. Expected is ( Region_Of_Interest ).); a GIPP of another Sen2Cor "
        "version? Take the L2A_GIPP.xml of the installed one ($SEN2COR_HOME/cfg after its first run)"
    )


def test_resolution_20_lacks_b08(tmp_path):
    check_resolution(20, ("B02", "B8A", "B11", "SCL"))
    with pytest.raises(ConfigError) as err:
        check_resolution(20, ("B02", "B08", "B8A", "SCL"))
    assert str(err.value) == (
        "config key sentinel2.sen2cor.resolution: Sen2Cor run at 20 m makes no ['B08'] (B08 "
        "exists only at 10 m), which sentinel2.bands and the indices need; use resolution 10"
    )


def test_tail_joins_last_lines(tmp_path):
    log = tmp_path / "s.log"
    log.write_text("".join(f"line {i}\n\n" for i in range(30)))
    assert tail(log, 3) == "line 27 | line 28 | line 29"
    assert tail(tmp_path / "none.log") == "(no Sen2Cor log)"
    assert timeout_from_runtime(120) == 7080.0 and timeout_from_runtime(1) == 60.0


# ---- running the stand-in ----------------------------------------------------------------------------------


def test_double_output_is_taken_over_and_matches_the_archive_l2a(demo, tmp_path, monkeypatch):
    grid, l1c, l2a = demo
    monkeypatch.setenv("HOME", "/nonexistent")  # the job's own home serves Sen2Cor, whatever HOME is
    out = tmp_path / "sen2cor" / "p"
    report = tmp_path / "logs" / "p.report.xml"
    safe = run_sen2cor(l1c[0], out, double(), tmp_path / "s.log", threads=3, report_log=report)
    m, n = L2A_NAME.match(safe.name), L1C_NAME.match(l1c[0].stem)
    assert m and n and m.group(3) == "9999" and (m.group(2), m.group(5)) == (n.group(2), n.group(5))
    assert [p.name for p in out.iterdir()] == [safe.name]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no scratch left
    log = (tmp_path / "s.log").read_text()
    assert "stand-in" in log and "Nr_Threads 3" in log and safe.name in log and "Processing baseline: 99.99" in log
    assert "logging for the main process initialized" in report.read_text()
    assert sorted(p.name for p in safe.iterdir() if p.is_dir()) == [
        "AUX_DATA",
        "DATASTRIP",
        "GRANULE",
        "HTML",
        "rep_info",
    ]
    assert sorted(p.name for p in next(safe.glob("GRANULE/*/IMG_DATA")).iterdir()) == ["R10m", "R20m", "R60m"]
    optical = OpticalSettings.from_config(schema_section("sentinel2"))
    ds = l2a_on_grid(out, grid, optical, aoi_margin_m=250)
    ref = l2a_on_grid(next(p for p in l2a if n.group(2) in p.name), grid, optical, aoi_margin_m=250)
    assert ds.attrs["product"] == safe.name.removesuffix(".SAFE") and ds.attrs["baseline"] == "99.99"
    both = (ds["valid"].values == 1) & (ref["valid"].values == 1)
    assert both.mean() > 0.2
    for k in ("NDVI", "NDWI", "B04", "B12"):
        assert np.median(np.abs(ds[k].values - ref[k].values)[both]) < 0.01, k


def test_resolution_20_runs_20m_only(demo, tmp_path):
    _, l1c, _ = demo
    needed = ("B02", "B03", "B04", "B8A", "B11", "B12", "SCL")
    safe = run_sen2cor(l1c[0], tmp_path / "p", double(resolution=20), tmp_path / "s.log", required_bands=needed)
    assert sorted(p.name for p in next(safe.glob("GRANULE/*/IMG_DATA")).iterdir()) == ["R20m", "R60m"]
    assert ("B08", 10) not in read_metadata(safe).band_files and ("B8A", 20) in read_metadata(safe).band_files


def test_failing_sen2cor_leaves_nothing_and_reports_its_log(demo, tmp_path):
    _, l1c, _ = demo
    out = tmp_path / "sen2cor" / "p"
    with pytest.raises(ProductError) as err:
        run_sen2cor(l1c[0], out, double("failing"), tmp_path / "s.log", report_log=tmp_path / "r.xml")
    msg = str(err.value)
    assert msg.startswith(
        f"{l1c[0]}: Sen2Cor exited with status 1; Sen2Cor's report ({tmp_path / 'r.xml'}): "
        "L2A_Tables: cannot allocate the 20 m tables (stand-in told to fail); last Sen2Cor log lines"
    )
    assert "terminated with at least one error" in msg and "\n" not in msg
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_sen2cor_failing_with_exit_0_fails_the_job_quoting_its_report(demo, tmp_path):
    _, l1c, _ = demo
    out = tmp_path / "sen2cor" / "p"
    report = tmp_path / "logs" / "p.report.xml"
    with pytest.raises(ProductError) as err:
        run_sen2cor(l1c[0], out, double("silent"), tmp_path / "s.log", report_log=report)
    assert str(err.value).startswith(
        f"{l1c[0]}: Sen2Cor exited with status 0 but says it terminated with at least one error; Sen2Cor's report "
        f"({report}): L2A_ProcessTile: process aborted (stand-in told to fail silently); last Sen2Cor log lines"
    )
    assert "<Sen2Cor_Level-2A_Report_File>" in report.read_text()
    assert not out.exists()


def test_a_hanging_sen2cor_is_stopped_at_the_timeout(demo, tmp_path):
    _, l1c, _ = demo
    out = tmp_path / "sen2cor" / "p"
    start = time.monotonic()
    with pytest.raises(ProductError) as err:
        run_sen2cor(l1c[0], out, double("hanging"), tmp_path / "s.log", timeout_s=3)
    assert time.monotonic() - start < 30
    assert "Sen2Cor did not finish within 3 s (the rule's runtime less 120 s) and was stopped" in str(err.value)
    assert "Sen2Cor's report (" in str(err.value) and not out.exists()
    alive = subprocess.run(["pgrep", "-f", str(BIN / "L2A_Process_hanging")], capture_output=True, text=True)
    assert alive.stdout == ""


def test_partial_l2a_fails_naming_the_missing_file(demo, tmp_path):
    _, l1c, _ = demo
    out = tmp_path / "sen2cor" / "p"
    with pytest.raises(ProductError, match=r"_B12_20m\.jp2: missing or empty.*partial.*terminated successfully"):
        run_sen2cor(l1c[0], out, double("partial"), tmp_path / "s.log")
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_an_unwritable_home_or_a_zip_without_empty_folders_break_sen2cor_itself(demo, tmp_path, monkeypatch):
    _, l1c, _ = demo
    with zipfile.ZipFile(l1c[0]) as z:
        assert not [n for n in z.namelist() if n.endswith(("/HTML/", "/rep_info/", "/AUX_DATA/"))]
        z.extractall(tmp_path / "l1c")
    safe = next((tmp_path / "l1c").glob("*.SAFE"))
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    monkeypatch.delenv("SEN2COR_HOME", raising=False)
    direct = [
        str(BIN / "L2A_Process"),
        "--resolution",
        "10",
        "--output_dir",
        str(tmp_path / "out"),
        "--GIP_L2A",
        str(GIPP),
        str(safe),
    ]
    crash = subprocess.run(direct, capture_output=True, text=True)
    assert crash.returncode == 1 and "FileNotFoundError" in crash.stderr and "sen2cor/2.11/log" in crash.stderr
    home = tmp_path / "sen2cor-home"
    home.mkdir()
    quiet = subprocess.run(direct, capture_output=True, text=True, env=dict(os.environ, SEN2COR_HOME=str(home)))
    assert quiet.returncode == 0 and "Application terminated with at least one error" in quiet.stdout
    report = next((home / "log").glob("*_report.xml")).read_text()
    assert "cannot copy AUX_DATA, HTML, rep_info" in report
    # run_sen2cor creates the folders after unpacking: the same zip goes through (test above)


def test_sen2cors_own_baseline_without_offsets_reads_with_offset_0(demo, tmp_path, monkeypatch, caplog):
    _, l1c, _ = demo
    with zipfile.ZipFile(l1c[0]) as z:
        z.extractall(tmp_path / "l1c")
    safe = next((tmp_path / "l1c").glob("*.SAFE"))
    for d in ("AUX_DATA", "HTML", "rep_info"):
        (safe / d).mkdir(exist_ok=True)
    for g in (safe / "GRANULE").glob("*"):
        (g / "AUX_DATA").mkdir(exist_ok=True)
    (tmp_path / "home").mkdir()
    env = dict(os.environ, SEN2COR_HOME=str(tmp_path / "home"), SEN2COR_STANDIN_VERSION="2.9.0")
    subprocess.run(
        [str(BIN / "L2A_Process"), "--output_dir", str(tmp_path / "out"), "--GIP_L2A", str(GIPP), str(safe)],
        check=True,
        capture_output=True,
        env=env,
    )
    l2a = next((tmp_path / "out").glob("*.SAFE"))
    caplog.set_level(logging.INFO, logger="soilsat")
    meta = read_metadata(l2a)  # a 2.9 product: baseline 99.99, no BOA_ADD_OFFSET
    assert meta.baseline == "99.99" and set(meta.offsets.values()) == {0.0}
    assert "Sen2Cor's own product (baseline 99.99) lists no BOA_ADD_OFFSET: offsets 0" in caplog.text
    subprocess.run(
        [
            str(BIN / "L2A_Process"),
            "--output_dir",
            str(tmp_path / "out2"),
            "--GIP_L2A",
            str(GIPP),
            "--processing_baseline",
            "5.11",
            str(safe),
        ],
        check=True,
        capture_output=True,
        env=env | {"SEN2COR_STANDIN_VERSION": "2.11.0"},
    )
    named = next((tmp_path / "out2").glob("*.SAFE"))
    assert L2A_NAME.match(named.name).group(3) == "0511" and set(read_metadata(named).offsets.values()) == {-1000.0}


def test_l2a_input_and_truncated_zip_are_refused(demo, tmp_path):
    _, l1c, l2a = demo
    with pytest.raises(ProductError, match="L2A product; Sen2Cor needs an L1C"):
        run_sen2cor(l2a[0], tmp_path / "a", double(), tmp_path / "s.log")
    bad = tmp_path / l1c[0].name
    bad.write_bytes(l1c[0].read_bytes()[: l1c[0].stat().st_size // 2])
    with pytest.raises(ProductError, match=f"{bad.name}: not a readable zip file"):  # the reader (optical.safe) says so
        run_sen2cor(bad, tmp_path / "b", double(), tmp_path / "s.log")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ---- the L1C route of the workflow -----------------------------------------------------


def l1c_config(workdir: Path, executable: str) -> Path:
    """The tiny test world, shortened, on the L1C route with the given Sen2Cor executable."""
    cfg = yaml.safe_load((ROOT / "tests" / "configs" / "tiny.yaml").read_text())
    cfg["period"] = {"start": "2020-04-01", "end": "2020-04-25"}
    cfg["sentinel2"] = {"level": "L1C", "sen2cor": {"executable": executable, "gipp": str(GIPP), "threads": 1}}
    path = workdir / "l1c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")
    return path


def snakemake(workdir: Path, config: Path, *targets: str, check: bool = True):
    """Run the workflow for some targets (targets go before --configfile, which takes several values)."""
    return run_workflow(workdir, *targets, "--configfile", str(config), check=check)


@pytest.fixture(scope="module")
def l1c_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("l1c")
    config = l1c_config(workdir, str(BIN / "L2A_Process"))
    snakemake(workdir, config, "sentinel2_all")
    return workdir, config


def _catalog(workdir: Path) -> list[str]:
    import csv

    with open(workdir / "results" / "tiny" / "catalog" / "sentinel2.csv", newline="") as f:
        return [(row["name"], row["regions"]) for row in csv.DictReader(f)]


@pytest.mark.e2e
def test_l1c_route_end_to_end(l1c_run):
    workdir, _ = l1c_run
    rows = _catalog(workdir)
    assert len(rows) >= 4 and all("_MSIL1C_" in name for name, _ in rows)
    regions = set()
    for name, region in rows:
        cog = workdir / "results" / "tiny" / "sentinel2" / region / f"{name}.tif"
        with rasterio.open(cog) as src:
            tags, names = src.tags(), src.descriptions
            ndvi = src.read(names.index("NDVI") + 1)
        regions.add(region)
        m = L2A_NAME.match(tags["product"] + ".SAFE")
        assert m and m.group(3) == "9999" and m.group(2) == L1C_NAME.match(name).group(2)
        assert tags["source_product"] == name and tags["level"] == "L1C" and tags["baseline"] == "99.99"
        assert 0.0 <= float(tags["valid_fraction"]) <= 1.0
        assert {"NDVI", "NDWI", "NBR2", "EVI", "bare", "valid", "B04", "B12"} <= set(names)
        assert float(tags["valid_fraction"]) == 0 or np.isfinite(ndvi).any()
        sen2cor = workdir / "results" / "tiny" / "sen2cor" / name / (tags["product"] + ".SAFE")
        assert (sen2cor / "MTD_MSIL2A.xml").is_file()
        log = (workdir / "logs" / "tiny" / "sen2cor" / f"{name}.sen2cor.log").read_text()
        assert "stand-in" in log and "Nr_Threads 1" in log
        report = workdir / "logs" / "tiny" / "sen2cor" / f"{name}.report.xml"
        assert "<Sen2Cor_Level-2A_Report_File>" in report.read_text()
    assert regions == {"skjern", "duero"}


@pytest.mark.e2e
def test_l1c_route_failure_is_reported(tmp_path, l1c_run):
    src, _ = l1c_run
    shutil.copytree(src / "resources", tmp_path / "resources")  # the same demo world, not generated again
    config = l1c_config(tmp_path, str(BIN / "L2A_Process_failing"))
    proc = snakemake(tmp_path, config, "sentinel2_all", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Sen2Cor exited with status 1" in out and "L2A_Tables: cannot allocate the 20 m tables" in out
    failed = [p for p in (tmp_path / "logs" / "tiny" / "sen2cor").glob("*.log") if not p.name.endswith(".sen2cor.log")]
    assert list((tmp_path / "logs" / "tiny" / "sen2cor").glob("*.report.xml"))  # Sen2Cor's report kept
    assert failed and "Sen2Cor exited with status 1" in failed[0].read_text()
    left = tmp_path / "results" / "tiny" / "sen2cor"
    assert not left.exists() or [p for p in left.iterdir() if p.name.startswith("S2")] == []


@pytest.mark.e2e
def test_missing_sen2cor_fails_at_once(tmp_path):
    config = l1c_config(tmp_path, "L2A_Process_not_installed_here")
    proc = snakemake(tmp_path, config, "sentinel2_all", "--dry-run", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "L2A_Process_not_installed_here" in out and "install Sen2Cor" in out and "sentinel2.level: L2A" in out
    assert not (tmp_path / "resources").exists()


def _break(kind: str, safe: Path, l1c_zip: Path) -> str:
    """Damage one product the way `kind` says; return the file name the error must give."""
    if kind == "corrupt JP2":
        path = next(safe.glob("GRANULE/*/IMG_DATA/R10m/*_B08_10m.jp2"))
        data = bytearray(path.read_bytes())
        data[len(data) // 3 :] = b"\x00" * (len(data) - len(data) // 3)
        path.write_bytes(bytes(data))
        return path.name
    if kind == "missing MTD":
        (safe / "MTD_MSIL2A.xml").unlink()
        return "MTD_MSIL2A.xml"
    if kind == "missing band":
        path = next(safe.glob("GRANULE/*/IMG_DATA/R10m/*_B04_10m.jp2"))
        path.unlink()
        return path.name
    data = l1c_zip.read_bytes()
    l1c_zip.write_bytes(data[: len(data) // 2])
    return l1c_zip.name


@pytest.mark.e2e
@pytest.mark.parametrize(
    "case", [(0, "corrupt JP2"), (1, "missing MTD"), (2, "missing band"), (3, "truncated SAFE")], ids=lambda c: c[1]
)
def test_damaged_products_fail_the_job_naming_the_file(l1c_run, case):
    workdir, config = l1c_run
    index, kind = case
    name, region = _catalog(workdir)[index]
    product_dir = workdir / "results" / "tiny" / "sen2cor" / name
    safe = next(product_dir.glob("*.SAFE"))
    l1c_zip = workdir / "resources" / "demo" / "tiny" / "sentinel2" / f"{name}.zip"
    expected = _break(kind, safe, l1c_zip)
    if kind == "truncated SAFE":
        target, log = f"results/tiny/sen2cor/{name}", workdir / "logs" / "tiny" / "sen2cor" / f"{name}.log"
    else:
        target = f"results/tiny/sentinel2/{region}/{name}.tif"
        log = workdir / "logs" / "tiny" / "sentinel2" / region / f"{name}.log"
    # Only the damaged job runs again (not the fetch, whatever else changed in the config).
    proc = snakemake(
        workdir,
        config,
        target,
        "--force",
        "--rerun-triggers",
        "mtime",
        "--allowed-rules",
        "sen2cor",
        "sentinel2_l2a",
        check=False,
    )
    assert proc.returncode != 0
    assert f"{expected}" in proc.stderr + proc.stdout
    lines = [line for line in log.read_text().splitlines() if "ProductError" in line]
    assert lines and expected in lines[-1]
    assert not (workdir / target).exists()
