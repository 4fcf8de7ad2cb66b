"""Engine snap: run the Sentinel-1 graph with ESA SNAP (gpt, or esa-snappy) and bring its output onto the study grid.

SNAP is an external program that cannot run in the tests; what is tested is the boundary:
the command line we give ``gpt``, how its failure is reported (the last lines of its stderr,
no output left behind) and how its GeoTIFF is read back into soilsat's COG layout.

Resources: ``-q`` is the job's threads; the JVM heap (``-J-Xmx``, the install4j launcher's
way of passing a VM option, equivalent to editing ``gpt.vmoptions``) is a share of the
job's memory, and the tile cache (``-c``) a share of the heap.

Reading back: SNAP's Terrain-Correction names its bands ``Sigma0_<POL>``,
``incidenceAngleFromEllipsoid``, ``localIncidenceAngle`` and ``layoverShadowMask`` (bit 1
layover, bit 2 shadow); 0 is its no-data value for the sigma0 bands. Band names are taken
from the GeoTIFF's band descriptions. The output grid is aligned with the study grid
(alignToStandardGrid at the grid origin) and is put onto it exactly.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from soilsat.errors import ConfigError, ProductError, SoilsatError

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


class SnapError(SoilsatError):
    """SNAP failed on a graph."""


@dataclasses.dataclass(frozen=True)
class SnapSettings:
    """The `sentinel1.snap:` section."""

    interface: str
    gpt: str
    container: str | None
    heap_fraction: float
    cache_fraction: float


def settings_from_config(section: Mapping) -> SnapSettings:
    """SnapSettings from a validated `sentinel1.snap:` section (ConfigError naming a missing key)."""
    try:
        return SnapSettings(section["interface"], section["gpt"], section["container"],
                            float(section["heap_fraction"]), float(section["cache_fraction"]))
    except KeyError as exc:
        raise ConfigError(f"config key sentinel1.snap.{exc.args[0]} is missing") from None


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
    """ConfigError with how to install SNAP when the esa_snappy module cannot be imported."""
    try:
        import esa_snappy  # noqa: F401
    except ImportError:
        raise ConfigError(f"config key sentinel1.snap.interface: the esa_snappy module is not installed; {INSTALL_HINT}") from None


def preflight(section: Mapping) -> None:
    """Fail at once when the configured SNAP is missing (nothing to check inside a container)."""
    settings = settings_from_config(section)
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


def gpt_command(gpt: str, graph_path: str | os.PathLike, threads: int, mem_mb: int, settings: SnapSettings) -> list[str]:
    """The argument list running a graph file with gpt under the job's threads and memory."""
    heap, cache = memory_split(mem_mb, settings)
    return [gpt, f"-J-Xmx{heap}M", str(graph_path), "-q", str(int(threads)), "-c", f"{cache}M", "-e"]


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
        raise SnapError(f"gpt failed on {command[2]} (exit {proc.returncode}):\n{_tail(proc.stderr) or _tail(proc.stdout)}")
    if not target.exists():
        raise SnapError(f"gpt exited 0 but wrote no {target}")


def run_snappy(graph_path: str | os.PathLike, target: Path) -> None:
    """Run a graph through esa_snappy's GraphProcessor; on failure remove partial output and raise SnapError."""
    check_snappy()
    import esa_snappy

    jpy = esa_snappy.jpy
    try:
        reader = jpy.get_type("java.io.FileReader")(str(graph_path))
        graph = jpy.get_type("org.esa.snap.core.gpf.graph.GraphIO").read(reader)
        monitor = jpy.get_type("com.bc.ceres.core.ProgressMonitor").NULL
        jpy.get_type("org.esa.snap.core.gpf.graph.GraphProcessor")().executeGraph(graph, monitor)
    except Exception as exc:  # a Java exception surfaces as RuntimeError; report whatever it is
        remove_output(target)
        raise SnapError(f"esa_snappy failed on {graph_path}: {exc}") from None


def remove_output(target: Path) -> None:
    """Remove what SNAP may have written for a target (the file and a .data/.dim companion)."""
    for path in (target, target.with_suffix(".data"), target.with_suffix(".dim")):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()


# --------------------------------------------------------------------------- reading SNAP's output back


def _our_name(snap_name: str) -> str | None:
    """soilsat's band name for one of SNAP's (None for bands we do not keep)."""
    if snap_name.startswith("Sigma0_"):
        return "sigma0_" + snap_name.split("_")[1].upper()
    return SNAP_BANDS.get(snap_name)


def read_output(path: Path, grid: StudyGrid, polarisations: Sequence[str]) -> xr.Dataset:
    """SNAP's Terrain-Correction GeoTIFF on the study grid, with soilsat's band names and mask values."""
    import numpy as np
    import rasterio
    import rasterio.warp
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(path) as src:
            names = list(src.descriptions)
            data = src.read().astype(np.float32)
            transform, crs, nodata = src.transform, src.crs, src.nodata
    except RasterioError as exc:
        raise ProductError(path, f"SNAP output unreadable ({exc})") from None
    ours = {_our_name(n or ""): k for k, n in enumerate(names)}
    wanted = [f"sigma0_{p.upper()}" for p in polarisations] + ["incidence_angle", "local_incidence_angle", "mask"]
    missing = [w for w in wanted if w not in ours]
    if missing:
        raise ProductError(path, f"SNAP output lacks bands {missing} (it has {names})")
    if crs is None:
        raise ProductError(path, "SNAP output has no CRS")
    out: dict[str, np.ndarray] = {}
    for name in wanted:
        band = data[ours[name]]
        if name.startswith("sigma0_"):
            band = np.where(band == (0.0 if nodata is None else nodata), np.nan, band)
        nearest = name == "mask"
        dest = np.full(grid.shape, np.nan, dtype=np.float32)
        rasterio.warp.reproject(
            band, dest, src_transform=transform, src_crs=crs, dst_transform=grid.transform, dst_crs=grid.crs,
            src_nodata=np.nan, dst_nodata=np.nan,
            resampling=rasterio.warp.Resampling.nearest if nearest else rasterio.warp.Resampling.bilinear,
        )
        out[name] = dest
    return _dataset(out, polarisations, grid)


def _dataset(bands: dict[str, np.ndarray], polarisations: Sequence[str], grid: StudyGrid) -> xr.Dataset:
    """soilsat's layout: sigma0 bands, incidence angles and the mask (0 no data, 1 valid, 2 layover, 3 shadow)."""
    import numpy as np
    import xarray as xr

    from soilsat.sar import terrain

    sigma = {f"sigma0_{p.upper()}": bands[f"sigma0_{p.upper()}"] for p in polarisations}
    ok = np.isfinite(bands["mask"])
    for v in sigma.values():
        ok &= np.isfinite(v)
    flags = np.nan_to_num(bands["mask"]).astype(np.uint8)
    mask = np.where(ok, terrain.MASK_VALID, terrain.MASK_NODATA).astype(np.uint8)
    mask[ok & ((flags & _SHADOW_BIT) > 0)] = terrain.MASK_SHADOW
    mask[ok & ((flags & _LAYOVER_BIT) > 0)] = terrain.MASK_LAYOVER
    coords = {"y": grid.y_coords(), "x": grid.x_coords()}
    ds = xr.Dataset({k: (("y", "x"), v, {"units": "1", "long_name": f"sigma0 {k[7:]} (linear)"}) for k, v in sigma.items()},
                    coords=coords)
    ds["incidence_angle"] = (("y", "x"), bands["incidence_angle"], {"units": "degree", "long_name": "ellipsoid incidence angle"})
    ds["local_incidence_angle"] = (("y", "x"), bands["local_incidence_angle"],
                                   {"units": "degree", "long_name": "local incidence angle (DEM surface)"})
    ds["mask"] = (("y", "x"), mask, {"long_name": "no data (0), valid (1), layover (2), shadow (3)"})
    return ds


def run_graph(graph_path: str | os.PathLike, target: str | os.PathLike, grid: StudyGrid, polarisations: Sequence[str],
              section: Mapping, threads: int, mem_mb: int) -> xr.Dataset:
    """Run a graph with SNAP (gpt or esa-snappy, per `section`) and return its output on the study grid.

    `target` is the Write node's file; it is removed afterwards, whatever happens.
    """
    settings = settings_from_config(section)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if settings.interface == "esa-snappy":
            run_snappy(graph_path, target)
        else:
            run_gpt(gpt_command(find_gpt(settings), graph_path, threads, mem_mb, settings), target)
        return read_output(target, grid, polarisations)
    finally:
        remove_output(target)
