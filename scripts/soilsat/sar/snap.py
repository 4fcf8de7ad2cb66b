"""Engine snap: run the Sentinel-1 graph with ESA SNAP (gpt, or esa-snappy) and bring its output onto the study grid.

SNAP is an external program that cannot run in the tests; what is tested is the boundary,
against a stand-in as strict as gpt (tests/snap_double): the command line and environment we
give gpt, the orbit file we hand it, how its failure is reported (the last lines of its
stderr, no output left behind) and how its BEAM-DIMAP output is read back.

Resources: ``-q`` is the job's threads and ``-c`` gpt's tile cache (a share of the heap). The
JVM heap (a share of the job's memory) cannot go on gpt's command line: gpt itself rejects
``-J-Xmx`` ("Unknown option"); only the installer's launcher reads it. The installer's
(install4j) launcher adds the VM options of the ``INSTALL4J_ADD_VM_PARAMS`` environment variable
after those of ``gpt.vmoptions``, and a plain ``gpt`` script that starts ``java`` itself gets
``_JAVA_OPTIONS``, which the JVM applies after its command line; both are set. esa-snappy starts
its JVM from ``esa_snappy.ini`` (``java_max_mem``, ``java_options``), read last from the working
directory, so it runs in a child process in a folder holding the job's ini.

Orbits: SNAP's Apply-Orbit-File looks for orbit files only in its auxdata folders
(``OrbitFiles.sentinel1POEOrbitPath``/``RESOrbitPath``, by default
``~/.snap/auxdata/Orbits/Sentinel-1/POEORB/<S1x>/<year>/<month>``), by the validity window in
the file name, and downloads one otherwise. The orbit file the acquire stage delivered is
copied under its ESA name into a job folder laid out that way, and gpt is pointed at it with
``-D`` system properties (gpt sets them before the graph runs; esa-snappy gets them as JVM
options). SNAP records the orbit it applied in the output's ``Abstracted_Metadata``
(``orbit_state_vector_file``); when a file was handed over and SNAP applied another orbit, the
job fails.

Reading back: SNAP's Terrain-Correction names its bands ``Sigma0_<POL>`` (``Gamma0_<POL>`` after
Terrain-Flattening),
``incidenceAngleFromEllipsoid``, ``localIncidenceAngle`` and ``layoverShadowMask`` (bit 1
layover, bit 2 shadow); 0 is its no-data value for the sigma0 and angle bands. The graph aligns
SNAP's pixel centres with the study grid's, so the grid is cut out of the output as a window
(:mod:`soilsat.sar.dimap`), with no resampling.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from soilsat.errors import ConfigError, ProductError, SoilsatError
from soilsat.settings import Settings

if TYPE_CHECKING:  # the Snakefile imports this module for its preflight with the standard library only
    import numpy as np
    import xarray as xr

    from soilsat.grid import StudyGrid

log = logging.getLogger(__name__)

STDERR_LINES = 20  # lines of gpt's stderr quoted in a failure
INSTALL_HINT = (
    "install ESA SNAP (https://step.esa.int/main/download/snap-download/, with the Microwave Toolbox) and put its "
    "bin/ folder on PATH or set sentinel1.snap.gpt to the gpt program, set sentinel1.snap.container to a SNAP image, "
    "or switch engine with `sentinel1.engine: builtin`"
)
# SNAP's band names -> soilsat's
SNAP_BANDS = {
    "incidenceAngleFromEllipsoid": "incidence_angle",
    "localIncidenceAngle": "local_incidence_angle",
    "layoverShadowMask": "mask",
}
_LAYOVER_BIT, _SHADOW_BIT = 1, 2
# SNAP's settings keys of its Sentinel-1 orbit folders, by orbit kind
ORBIT_PATH_KEYS = {"POEORB": "OrbitFiles.sentinel1POEOrbitPath", "RESORB": "OrbitFiles.sentinel1RESOrbitPath"}


class SnapError(SoilsatError):
    """SNAP failed on a graph."""


@dataclasses.dataclass(frozen=True)
class SnapSettings(Settings):
    """The `sentinel1.snap:` section."""

    interface: str
    gpt: str
    container: str | None
    heap_fraction: float
    cache_fraction: float


@dataclasses.dataclass(frozen=True)
class StagedOrbit:
    """An orbit file laid out for SNAP: its ESA name and the system properties that point SNAP at it."""

    name: str
    properties: dict[str, str]


def find_gpt(settings: SnapSettings) -> str:
    """The gpt program to run: a path that exists, or a name on PATH (ConfigError with how to install SNAP)."""
    program = settings.gpt
    if os.sep in program or (os.altsep and os.altsep in program):
        if Path(program).is_file() and os.access(program, os.X_OK):
            return program
        raise ConfigError(f"config key sentinel1.snap.gpt: {program} is not an executable file; {INSTALL_HINT}")
    found = shutil.which(program)
    if found is None:
        raise ConfigError(f"config key sentinel1.snap.gpt: SNAP's {program!r} is not on PATH; {INSTALL_HINT}")
    return found


def check_snappy() -> None:
    """ConfigError with how to install SNAP when the esa_snappy module cannot be found (it is not imported:
    importing it starts a JVM)."""
    try:
        found = importlib.util.find_spec("esa_snappy") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ConfigError(
            f"config key sentinel1.snap.interface: the esa_snappy module is not installed; {INSTALL_HINT}"
        )


def preflight(section: Mapping) -> None:
    """Fail at once when the configured SNAP is missing (nothing to check inside a container)."""
    settings = SnapSettings.from_config(section)
    if settings.container:
        return
    if settings.interface == "esa-snappy":
        check_snappy()
    else:
        find_gpt(settings)


def memory_split(mem_mb: int, settings: SnapSettings) -> tuple[int, int]:
    """(JVM heap, tile cache) in MB for a job of `mem_mb`."""
    heap = max(int(mem_mb * settings.heap_fraction), 256)
    return heap, max(int(heap * settings.cache_fraction), 64)


def gpt_command(
    gpt: str, graph_path: str | os.PathLike, threads: int, cache_mb: int, properties: Mapping[str, str] | None = None
) -> list[str]:
    """The argument list running a graph file with gpt: its threads, tile cache and -D system properties."""
    defines = [f"-D{key}={value}" for key, value in sorted((properties or {}).items())]
    return [gpt, str(graph_path), "-q", str(int(threads)), "-c", f"{int(cache_mb)}M", "-e", *defines]


def heap_environment(heap_mb: int, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """gpt's environment with the JVM heap set for the installer's launcher and for a plain java script."""
    env = dict(os.environ if environ is None else environ)
    env["INSTALL4J_ADD_VM_PARAMS"] = " ".join(filter(None, [env.get("INSTALL4J_ADD_VM_PARAMS"), f"-Xmx{heap_mb}M"]))
    env["_JAVA_OPTIONS"] = " ".join(filter(None, [env.get("_JAVA_OPTIONS"), f"-Xmx{heap_mb}M"]))
    return env


def snappy_ini(heap_mb: int, cache_mb: int, threads: int, properties: Mapping[str, str] | None = None) -> str:
    """An esa_snappy.ini giving esa-snappy's JVM the job's heap, tile cache, threads and system properties."""
    options = [f"-Dsnap.parallelism={int(threads)}", f"-Dsnap.jai.tileCacheSize={int(cache_mb)}"]
    options += [f"-D{key}={value}" for key, value in sorted((properties or {}).items())]
    return f"[DEFAULT]\njava_max_mem: {int(heap_mb)}M\njava_options: {'|'.join(options)}\n"


def _months(first: dt.datetime, last: dt.datetime) -> list[tuple[int, int]]:
    """(year, month) of every month from first to last."""
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def stage_orbit(eof_path: str | os.PathLike, folder: Path) -> StagedOrbit:
    """Copy an orbit file under its ESA name into SNAP's folder layout below `folder`: one copy per month its
    validity touches, since SNAP looks in the month of the product's first state vector."""
    from soilsat.sar.orbit import read_eof

    eof = read_eof(eof_path)
    if eof.kind not in ORBIT_PATH_KEYS:
        raise ProductError(eof_path, f"orbit file of type {eof.kind!r}; SNAP applies POEORB or RESORB files")
    stamp = "%Y%m%dT%H%M%S"
    name = (
        f"{eof.mission}_OPER_AUX_{eof.kind}_OPOD_{eof.created.strftime(stamp)}_"
        f"V{eof.validity_start.strftime(stamp)}_{eof.validity_stop.strftime(stamp)}.EOF"
    )
    root = folder / eof.kind
    for year, month in _months(eof.validity_start, eof.validity_stop):
        target = root / eof.mission / f"{year:04d}" / f"{month:02d}" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(eof_path, target)
    properties = {key: str((folder / kind).resolve()) for kind, key in ORBIT_PATH_KEYS.items()}
    log.info("orbit file %s handed to SNAP as %s", Path(eof_path).name, name)
    return StagedOrbit(name, properties)


def _tail(text: str, lines: int = STDERR_LINES) -> str:
    """The last non-empty lines of a program's output."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_gpt(command: Sequence[str], target: Path, env: Mapping[str, str] | None = None) -> None:
    """Run gpt; on failure remove its partial output and raise SnapError quoting the end of its stderr."""
    log.info("running %s", " ".join(command))
    try:
        proc = subprocess.run(list(command), capture_output=True, text=True, env=dict(env) if env else None)
    except OSError as exc:
        raise SnapError(f"{command[0]}: cannot start gpt ({exc.strerror}); {INSTALL_HINT}") from None
    for line in proc.stdout.splitlines()[-STDERR_LINES:]:
        log.info("gpt: %s", line)
    if proc.returncode != 0:
        remove_output(target)
        raise SnapError(
            f"gpt failed on {command[1]} (exit {proc.returncode}):\n{_tail(proc.stderr) or _tail(proc.stdout)}"
        )
    if not target.exists():
        raise SnapError(f"gpt exited 0 but wrote no {target}")


def run_snappy(graph_path: str | os.PathLike, target: Path, workdir: Path, ini: str) -> None:
    """Run a graph through esa_snappy in a child process started in `workdir` beside its esa_snappy.ini; on failure
    remove partial output and raise SnapError quoting the end of its stderr."""
    check_snappy()
    (workdir / "esa_snappy.ini").write_text(ini, encoding="utf-8")
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "soilsat.sar.snappy_run", str(Path(graph_path).resolve())]
    log.info("running %s in %s", " ".join(command), workdir)
    proc = subprocess.run(command, capture_output=True, text=True, cwd=workdir, env=env)
    if proc.returncode != 0:
        remove_output(target)
        raise SnapError(
            f"esa_snappy failed on {graph_path} (exit {proc.returncode}):\n{_tail(proc.stderr) or _tail(proc.stdout)}"
        )
    if not target.exists():
        raise SnapError(f"esa_snappy finished but wrote no {target}")


def remove_output(target: Path) -> None:
    """Remove what SNAP may have written for a target (the file and a .data/.dim companion)."""
    for path in (target, target.with_suffix(".data"), target.with_suffix(".dim")):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()


# --------------------------------------------------------------------------- reading SNAP's output back


def applied_orbit(path: Path) -> str:
    """The orbit SNAP's Apply-Orbit-File recorded in a DIMAP product ('' when it recorded none)."""
    from soilsat.sar import dimap

    return dimap.read_header(path).metadata_attribute("Abstracted_Metadata", "orbit_state_vector_file") or ""


def check_orbit(path: Path, staged: StagedOrbit | None) -> None:
    """SnapError unless SNAP applied the orbit file it was handed (log which orbit it applied either way)."""
    applied = applied_orbit(path)
    if applied:
        log.info("SNAP applied orbit: %s", applied)
    else:
        log.warning("SNAP applied orbit: none recorded (the annotation's)")
    if staged is not None and not applied.endswith(" " + staged.name):
        raise SnapError(
            f"SNAP did not apply the precise orbit it was given: asked for {staged.name}, its output "
            f"records {applied or 'no orbit file'!r} (Abstracted_Metadata orbit_state_vector_file)"
        )


def read_output(path: Path, grid: StudyGrid, polarisations: Sequence[str], radiometry: str = "sigma0") -> xr.Dataset:
    """SNAP's Terrain-Correction product (BEAM-DIMAP) on the study grid, bands read by name, with soilsat's
    names and mask values."""
    from soilsat.sar import dimap
    from soilsat.sar.bands import backscatter_name

    product = dimap.read_header(path)
    prefix = "Gamma0" if radiometry == "gamma0" else "Sigma0"
    wanted = {f"{prefix}_{p.upper()}": backscatter_name(radiometry, p) for p in polarisations} | SNAP_BANDS
    missing = [ours for snap_name, ours in wanted.items() if snap_name not in product.bands]
    if missing:
        raise ProductError(path, f"SNAP output lacks bands {missing} (it has {sorted(product.bands)})")
    bands = {
        ours: dimap.read_window(product, snap_name, grid, apply_no_data=ours != "mask")
        for snap_name, ours in wanted.items()
    }
    return _dataset(bands, polarisations, grid, radiometry)


def _dataset(
    bands: dict[str, np.ndarray], polarisations: Sequence[str], grid: StudyGrid, radiometry: str
) -> xr.Dataset:
    """soilsat's layout: backscatter bands, incidence angles and the mask (0 no data, 1 valid, 2 layover, 3 shadow)."""
    import numpy as np
    import xarray as xr

    from soilsat.sar import terrain
    from soilsat.sar.bands import backscatter_bands, band_attrs

    attrs = band_attrs([p.upper() for p in polarisations], radiometry)
    sigma = backscatter_bands(list(attrs), polarisations)
    ok = np.isfinite(bands["mask"])
    for name in sigma:
        ok &= np.isfinite(bands[name])
    flags = np.nan_to_num(bands["mask"]).astype(np.uint8)
    mask = np.where(ok, terrain.MASK_VALID, terrain.MASK_NODATA).astype(np.uint8)
    mask[ok & ((flags & _SHADOW_BIT) > 0)] = terrain.MASK_SHADOW
    mask[ok & ((flags & _LAYOVER_BIT) > 0)] = terrain.MASK_LAYOVER
    values = {**bands, "mask": mask}
    coords = {"y": grid.y_coords(), "x": grid.x_coords()}
    return xr.Dataset({name: (("y", "x"), values[name], attrs[name]) for name in attrs}, coords=coords)


def run_graph(
    graph_path: str | os.PathLike,
    target: str | os.PathLike,
    grid: StudyGrid,
    polarisations: Sequence[str],
    section: Mapping,
    threads: int,
    mem_mb: int,
    orbit_files: Sequence[str | os.PathLike] = (),
    radiometry: str = "sigma0",
) -> xr.Dataset:
    """Run a graph with SNAP (gpt or esa-snappy, per `section`) and return its output on the study grid.

    `target` is the Write node's file (a .dim); it is removed afterwards, whatever happens.
    `orbit_files` (at most one) is handed to SNAP, which must apply it.
    """
    settings = SnapSettings.from_config(section)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if len(orbit_files) > 1:
        raise ProductError(target, f"{len(orbit_files)} orbit files given; SNAP is handed one")
    heap, cache = memory_split(mem_mb, settings)
    work = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", dir=target.parent)).resolve()
    try:
        staged = stage_orbit(orbit_files[0], work / "orbits") if orbit_files else None
        properties = staged.properties if staged else {}
        if settings.interface == "esa-snappy":
            run_snappy(graph_path, target, work, snappy_ini(heap, cache, threads, properties))
        else:
            command = gpt_command(find_gpt(settings), graph_path, threads, cache, properties)
            run_gpt(command, target, heap_environment(heap))
        check_orbit(target, staged)
        return read_output(target, grid, polarisations, radiometry)
    finally:
        remove_output(target)
        shutil.rmtree(work, ignore_errors=True)
