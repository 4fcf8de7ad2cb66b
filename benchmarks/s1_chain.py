"""Benchmark: the full builtin Sentinel-1 chain on a full-size IW GRDH product, onto a 10 m study grid.

The product is ESA's real S1B metadata (manifest, VV annotation, calibration and noise from
../shared/fixtures/real/s1; VH gets copies of the VV XMLs) with a synthetic measurement
TIFF pair of the full image size (16,705 lines x 26,102 samples, uint16, gamma speckle of
4.4 looks over a field pattern, zero no-value borders as IPF 3.40 writes them). A smooth
synthetic DEM covers the grid. The chain (graph from the shipped config's defaults, run by
soilsat.sar.engine.run_graph, COG written) runs in a child process after a warm-up on a
1 km grid (numba compiles once); the parent reports the child's wall time of the timed run
and its peak RSS (ru_maxrss of the child, warm-up included).

The study grid is a square of --grid-km centred on the footprint: the engine reads only the
image window the grid needs, so --grid-km 0 asks for the whole footprint's bounding box.

With ``--radiometry gamma0`` the same child also runs the gamma0 chain (Terrain-Flattening) on the same
product and grid, after the sigma0 chain: ``sigma0_s``, ``gamma0_s`` and their ratio.

The I/O floor, measured in the same child after the chains: the time to read every measurement pixel the
chain reads (the image window of both polarisations, by the engine's own windowed reads in blocks of lines)
plus the time to write a COG of the output's size and bands with the same GDAL options (the chain's own
output rows, read back block by block outside the timing, through the same block writer), with the chain's
allocator setting (soilsat.heap). ``floor_ratio`` is the chain's time over it (for each radiometry run).

Keys: wall_s (of the --radiometry chain), sigma0_s, gamma0_s, gamma0_over_sigma0, io_floor_s (read_s +
write_s), floor_ratio (and floor_ratio_sigma0 / floor_ratio_gamma0), peak_rss_gb, mpix_per_s (image pixels
read and filtered, both polarisations, per second), grid_mpix, image_window, sha256 (of the output COG's
full-resolution pixels, band by band: equal before and after a change that must leave the output as it is;
sha256_sigma0 always, of the sigma0 run), machine.

Run: PYTHONPATH=scripts .venv/bin/python benchmarks/s1_chain.py [--grid-km 50] [--radiometry gamma0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import describe  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = (
    ROOT.parent
    / "shared"
    / "fixtures"
    / "real"
    / "s1"
    / "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"
)
BLOCK = 1024


def make_safe(dest: Path, seed: int = 0) -> Path:
    """The synthetic full-size product: the fixture's metadata, VH XMLs copied from VV, synthetic DN."""
    import rasterio
    from rasterio.windows import Window

    from soilsat.sar.safe import open_product

    safe = dest / FIXTURE.name
    shutil.copytree(FIXTURE, safe)
    with open_product(safe) as product:
        files = {pol: product.manifest.files[pol] for pol in ("VV", "VH")}
        data = product.polarisation("VV")
    for role in ("annotation", "calibration", "noise"):
        text = (safe / getattr(files["VV"], role)).read_text()
        text = text.replace("<polarisation>VV</polarisation>", "<polarisation>VH</polarisation>")
        (safe / getattr(files["VH"], role)).write_text(text)
    ann = data.annotation
    lines, samples = ann.number_of_lines, ann.number_of_samples
    amp = float(np.mean([v.sigma_nought.mean() for v in data.calibration.vectors]))
    rng = np.random.default_rng(seed)
    (safe / "measurement").mkdir(exist_ok=True)
    cols = np.arange(samples)
    for pol, offset_db in (("VV", 0.0), ("VH", -7.0)):
        profile = dict(driver="GTiff", width=samples, height=lines, count=1, dtype="uint16")
        with rasterio.open(safe / files[pol].measurement, "w", **profile) as dst:
            for r0 in range(0, lines, BLOCK):
                r1 = min(r0 + BLOCK, lines)
                rows = np.arange(r0, r1)[:, None]
                field = ((rows // 40) * 7 + (cols[None, :] // 40) * 13) % 11  # 400 m fields of 11 kinds
                sigma0 = 10 ** ((-15.0 + offset_db + field - 5.0) / 10.0)
                dn = np.sqrt(sigma0 * rng.gamma(4.4, 1 / 4.4, sigma0.shape)) * amp
                block = np.clip(np.rint(dn), 1, 65535).astype(np.uint16)
                block[:, :80] = 0
                block[:, -80:] = 0
                if r0 == 0:
                    block[:30] = 0
                if r1 == lines:
                    block[-30:] = 0
                dst.write(block, 1, window=Window(0, r0, samples, r1 - r0))
    return safe


def study_grid(safe: Path, grid_km: float):
    """A 10 m grid of grid_km side centred on the footprint (grid_km 0: the footprint's bounding box)."""
    import pyproj

    from soilsat.grid import StudyGrid, region_grid, utm_epsg
    from soilsat.sar.safe import open_product

    with open_product(safe) as product:
        geo = product.annotation("VV").geolocation
    lon, lat = geo["longitude"].to_numpy(), geo["latitude"].to_numpy()
    clon, clat = float(lon.mean()), float(lat.mean())
    if grid_km > 0:
        return region_grid("bench", clon, clat, grid_km * 1000.0, 0.0, 10.0)
    epsg = utm_epsg(clon, clat)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    x0, y0 = np.floor(min(x) / 10) * 10, np.ceil(max(y) / 10) * 10
    width, height = int((max(x) - x0) / 10) + 1, int((y0 - min(y)) / 10) + 1
    return StudyGrid("bench", epsg, float(x0), float(y0), width, height, 10.0)


def make_dem(safe: Path, grid, path: Path) -> None:
    """A smooth synthetic DEM (30 m, 2 km wider than the grid) at the annotation's mean terrain height."""
    from soilsat.grid import StudyGrid
    from soilsat.io import write_cog
    from soilsat.sar.safe import open_product

    with open_product(safe) as product:
        base = float(product.annotation("VV").geolocation["height"].mean())
    pad = 2000.0
    w, h = int((grid.width * 10 + 2 * pad) / 30) + 1, int((grid.height * 10 + 2 * pad) / 30) + 1
    outer = StudyGrid("dem", grid.epsg, grid.x0 - pad, grid.y0 + pad, w, h, 30.0)
    yy, xx = np.mgrid[0:h, 0:w] * 30.0
    z = base + 40 * np.sin(xx / 3000.0) * np.cos(yy / 4000.0) + 15 * np.sin(xx / 900.0 + yy / 700.0)
    write_cog(path, z.astype(np.float32), outer, ["elevation"])


def pixel_sha256(path: Path, rows: int = 1024) -> str:
    """SHA-256 of a raster's full-resolution pixels, band by band (tags and file layout left out), read `rows` rows
    at a time: the same digest as of whole bands, without holding one (a footprint-wide band is 2.5 GB, which
    the child's peak RSS would count as the chain's)."""
    import hashlib

    import rasterio
    from rasterio.windows import Window

    digest = hashlib.sha256()
    with rasterio.open(path) as src:
        for band in range(1, src.count + 1):
            for r0 in range(0, src.height, rows):
                window = Window(0, r0, src.width, min(rows, src.height - r0))
                digest.update(np.ascontiguousarray(src.read(band, window=window)).tobytes())
    return digest.hexdigest()


def io_floor(safe: Path, window: list[int], output: Path, grid) -> dict[str, float]:
    """Seconds to read the image window of both polarisations as the engine reads it, and to write `output`'s rows
    again as a COG through the engine's block writer (reading them back is not timed)."""
    import numba
    import rasterio
    from rasterio.windows import Window

    from soilsat.cog_stream import cog_writer
    from soilsat.heap import reused_heap
    from soilsat.sar.engine import BLOCK_LINES, GRID_BLOCK_ROWS, Measurement
    from soilsat.sar.safe import open_product

    r0, r1, c0, c1 = window
    t0 = time.perf_counter()
    with reused_heap(), open_product(safe) as product:
        for pol in ("VV", "VH"):
            meas = Measurement(product, product.polarisation(pol))
            try:
                for b0 in range(r0, r1, BLOCK_LINES):
                    meas.read(b0, min(b0 + BLOCK_LINES, r1), c0, c1)
            finally:
                meas.close()
    read_s = time.perf_counter() - t0
    write_s = 0.0
    with reused_heap(), rasterio.open(output) as src:
        names = list(src.descriptions)
        tags = [src.tags(k + 1) for k in range(src.count)]
        target = output.with_name(output.stem + ".floor.tif")
        t = time.perf_counter()
        with cog_writer(
            target, grid, names, tags, threads=numba.get_num_threads(), categorical=[n == "mask" for n in names]
        ) as dst:
            write_s += time.perf_counter() - t
            for g0 in range(0, grid.height, GRID_BLOCK_ROWS):
                rows = src.read(window=Window(0, g0, grid.width, min(GRID_BLOCK_ROWS, grid.height - g0)))
                t = time.perf_counter()
                dst.write(g0, rows)
                write_s += time.perf_counter() - t
            t = time.perf_counter()
        write_s += time.perf_counter() - t  # the COG conversion at the writer's close
    target.unlink()
    return {"read_s": read_s, "write_s": write_s}


def child(work: Path, grid_km: float, radiometry: str) -> dict:
    """Warm up on a 1 km grid, then run the chain on the benchmark grid (sigma0, then gamma0 when asked for) and
    measure the I/O floor; returns timings."""
    import yaml
    from snakemake.utils import validate

    from soilsat.sar import engine, graph

    engine.set_threads(os.cpu_count() or 1)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, str(ROOT / "rules" / "schemas" / "config.schema.yaml"))
    safe = work / FIXTURE.name
    kinds = ["sigma0"] + (["gamma0"] if radiometry == "gamma0" else [])
    results: dict = {}
    for name, km in (("warmup", 1.0), ("timed", grid_km)):
        grid = study_grid(safe, km)
        dem = work / f"dem_{name}.tif"
        make_dem(safe, grid, dem)
        for kind in kinds:
            settings = dict(config["sentinel1"], radiometry=kind)
            out = work / f"{name}_{kind}.tif"
            g = work / f"{name}_{kind}.graph.xml"
            graph.write_graph(g, graph.build_graph(safe, work / f".{name}.snap.tif", grid, dem, settings))
            out.unlink(missing_ok=True)  # an earlier run's output (--keep): replacing it is no part of the chain
            t0 = time.perf_counter()
            result = engine.run_graph(g, grid, out)
            wall = time.perf_counter() - t0
            window = [int(v) for v in result.attrs["image_window"].split()]
            results[f"{name}_{kind}"] = {
                "wall_s": wall,
                "grid": [grid.height, grid.width],
                "window": window,
                "sha256": pixel_sha256(out),
            }
    timed = results[f"timed_{radiometry}"]
    results["floor"] = io_floor(safe, timed["window"], work / f"timed_{radiometry}.tif", study_grid(safe, grid_km))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid-km", type=float, default=50.0, help="side of the study grid (0: the whole footprint)")
    parser.add_argument("--keep", type=Path, default=None, help="a folder to build the product in and keep")
    parser.add_argument(
        "--radiometry", choices=["sigma0", "gamma0"], default="sigma0", help="gamma0: also time the gamma0 chain"
    )
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.grid_km, args.radiometry)))
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="s1_chain_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not (work / FIXTURE.name / "measurement").exists():
            t0 = time.perf_counter()
            make_safe(work)
            print(f"synthetic product written in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(work),
                "--grid-km",
                str(args.grid_km),
                "--radiometry",
                args.radiometry,
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-4000:])
        runs = json.loads(proc.stdout.strip().splitlines()[-1])
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
        timed = runs[f"timed_{args.radiometry}"]
        floor = runs["floor"]
        io_floor_s = floor["read_s"] + floor["write_s"]
        r0, r1, c0, c1 = timed["window"]
        image_mpix = 2 * (r1 - r0) * (c1 - c0) / 1e6
        sigma0_s = runs["timed_sigma0"]["wall_s"]
        result = {
            "wall_s": round(timed["wall_s"], 2),
            "radiometry": args.radiometry,
            "sigma0_s": round(sigma0_s, 2),
            "io_floor_s": round(io_floor_s, 2),
            "read_s": round(floor["read_s"], 2),
            "write_s": round(floor["write_s"], 2),
            "floor_ratio": round(timed["wall_s"] / io_floor_s, 2),
            "floor_ratio_sigma0": round(sigma0_s / io_floor_s, 2),
            "peak_rss_gb": round(peak_gb, 2),
            "mpix_per_s": round(image_mpix / timed["wall_s"], 2),
            "image_mpix": round(image_mpix, 1),
            "image_window": timed["window"],
            "grid": timed["grid"],
            "grid_mpix": round(timed["grid"][0] * timed["grid"][1] / 1e6, 1),
            "warmup_s": round(runs["warmup_sigma0"]["wall_s"], 2),
            "grid_km": args.grid_km,
            "sha256": timed["sha256"],
            "sha256_sigma0": runs["timed_sigma0"]["sha256"],
            "machine": describe(),
        }
        if args.radiometry == "gamma0":
            result["gamma0_s"] = round(timed["wall_s"], 2)
            result["gamma0_over_sigma0"] = round(timed["wall_s"] / sigma0_s, 3)
            result["floor_ratio_gamma0"] = result["floor_ratio"]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
