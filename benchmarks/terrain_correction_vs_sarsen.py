"""Benchmark: our range-Doppler terrain correction against sarsen's GTC on the same product, DEM and grid.

Builds a demo world (one region), takes its first ascending GRD product, writes the
region's DEM (ellipsoidal heights) as a GeoTIFF on the study grid, and runs in one process:

* ours: open the SAFE zip, calibrate VV (no noise removal), terrain-correct onto the grid
  (with local incidence angle and layover/shadow mask), in memory;
* sarsen: its GTC (``sarsen.apps.do_terrain_correction``, bilinear interpolation, no
  radiometric flattening) on the same product (unzipped: xarray-sentinel opens SAFE folders)
  and DEM file, computed in memory. Its output lies on the DEM grid, which is the study grid.

Neither writes its result in the timed part (``sarsen.terrain_correction`` only adds a GeoTIFF
write to the same computation; ``--write`` times both with their file writes instead).
Each is run once to warm up (numba compilation, imports) and then timed over --repeat runs,
alternating, best time of each (the machine is shared: best-of is the least noisy). The outputs
are compared by normalised cross-correlation of their dB images in tiles: max_offset_px is the
largest tile offset, in grid pixels. The last line printed is
one JSON object: ours_s, sarsen_s, speedup, max_offset_px, machine and the sizes.

Run: ``PYTHONPATH=scripts .venv/bin/python benchmarks/terrain_correction_vs_sarsen.py [--size-m 6000]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import rasterio
from machine import describe  # benchmarks/machine.py

from soilsat.demo.sentinel1 import write_products
from soilsat.demo.world import RegionSpec, WorldSpec, make_world
from soilsat.io import write_cog, write_dataset_cog
from soilsat.sar.dem import Dem
from soilsat.sar.orbit import annotation_orbit
from soilsat.sar.reference.simple_chain import read_sigma0_window
from soilsat.sar.reference.whole_grid import terrain_correct
from soilsat.sar.safe import open_product


def run_ours(zip_path: Path, dem: np.ndarray, grid, out: Path | None) -> np.ndarray:
    """Our chain: calibrate VV, terrain-correct (and write the COG when `out` is given); returns sigma0 VV."""
    with open_product(zip_path) as product:
        data = product.polarisation("VV")
        ann = data.annotation
        image = read_sigma0_window(product, data, (0, ann.number_of_lines, 0, ann.number_of_samples), denoise=False)
    ds = terrain_correct({"VV": image}, ann, annotation_orbit(ann), Dem(dem, grid.transform, grid.crs), grid)
    if out is not None:
        write_dataset_cog(out, ds, grid)
    return ds["sigma0_VV"].values


def run_sarsen(safe_dir: Path, dem_path: Path, out: Path | None) -> np.ndarray:
    """sarsen's GTC with bilinear interpolation; returns its geocoded beta nought, north-up on the DEM grid."""
    import sarsen
    import sarsen.apps
    import sarsen.scene

    product = sarsen.Sentinel1SarProduct(str(safe_dir), measurement_group="IW/VV")
    if out is not None:
        sarsen.terrain_correction(product, str(dem_path), output_urlpath=str(out), interp_method="linear")
        with rasterio.open(out) as src:
            values = src.read(1).astype(float)
            # sarsen keeps the DEM's y coordinate ascending when it writes: bring it north-up like the grid
            return values[::-1] if src.transform.e > 0 else values
    dem_raster = sarsen.scene.open_dem_raster(str(dem_path), chunks=1024)
    geocoded, _ = sarsen.apps.do_terrain_correction(product, dem_raster, interp_method="linear")
    values = geocoded.compute().values.astype(float)
    return values[::-1] if geocoded.y.values[1] > geocoded.y.values[0] else values


def tile_offsets(a: np.ndarray, b: np.ndarray, tiles: int = 3, max_lag: int = 3) -> list[tuple[float, float]]:
    """(row, col) offset of b against a in each of tiles x tiles blocks (normalised cross-correlation, parabolic
    peak)."""
    out = []
    n0, n1 = a.shape
    for i in range(tiles):
        for j in range(tiles):
            sa = a[i * n0 // tiles : (i + 1) * n0 // tiles, j * n1 // tiles : (j + 1) * n1 // tiles]
            sb = b[i * n0 // tiles : (i + 1) * n0 // tiles, j * n1 // tiles : (j + 1) * n1 // tiles]
            out.append(_offset(sa, sb, max_lag))
    return out


def _offset(a: np.ndarray, b: np.ndarray, m: int) -> tuple[float, float]:
    ok = np.isfinite(a) & np.isfinite(b)
    a = np.where(ok, a - np.nanmean(a[ok]), 0.0)
    b = np.where(ok, b - np.nanmean(b[ok]), 0.0)
    n0, n1 = a.shape
    core = a[m : n0 - m, m : n1 - m]
    c = np.empty((2 * m + 1, 2 * m + 1))
    for i in range(-m, m + 1):
        for j in range(-m, m + 1):
            other = b[m + i : n0 - m + i, m + j : n1 - m + j]
            c[i + m, j + m] = (core * other).sum() / np.sqrt((core**2).sum() * (other**2).sum())
    i, j = np.unravel_index(np.argmax(c), c.shape)
    i, j = min(max(i, 1), 2 * m - 1), min(max(j, 1), 2 * m - 1)
    sub = lambda lo, mid, hi: 0.5 * (lo - hi) / (lo - 2 * mid + hi)  # noqa: E731
    return float(i - m + sub(c[i - 1, j], c[i, j], c[i + 1, j])), float(j - m + sub(c[i, j - 1], c[i, j], c[i, j + 1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-m", type=float, default=6000.0, help="side of the demo region (metres)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--write", action="store_true", help="time both with their output file writes")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tc_bench_"))
    spec = WorldSpec(
        regions=(RegionSpec("b", 8.95, 55.95, args.size_m, "humid"),),
        start=date(2020, 4, 1),
        end=date(2020, 4, 5),
        probes_per_region=3,
        lucas_samples=10,
    )
    region = make_world(spec)[0]
    records = write_products([region], spec, work / "archive", work / "truth")
    rec = next(r for r in records if r["orbit_direction"] == "ASCENDING")
    zip_path = work / "archive" / rec["path"]
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(work / "safe")
    safe_dir = work / "safe" / f"{rec['name']}.SAFE"
    grid = region.grid
    dem = region.truth["elevation"].values.astype(np.float64)
    dem_path = work / "dem.tif"
    write_cog(dem_path, dem[None].astype(np.float32), grid, ["elevation"])

    timings: dict[str, list[float]] = {"ours": [], "sarsen": []}
    results = {}
    for k in range(args.repeat + 1):  # the first run of each warms up
        t0 = time.perf_counter()
        results["ours"] = run_ours(zip_path, dem, grid, work / f"ours_{k}.tif" if args.write else None)
        t1 = time.perf_counter()
        results["sarsen"] = run_sarsen(safe_dir, dem_path, work / f"sarsen_{k}.tif" if args.write else None)
        t2 = time.perf_counter()
        if k:
            timings["ours"].append(t1 - t0)
            timings["sarsen"].append(t2 - t1)
        print(f"run {k}: ours {t1 - t0:.3f} s, sarsen {t2 - t1:.3f} s", flush=True)

    ours_db = 10 * np.log10(np.where(results["ours"] > 0, results["ours"], np.nan))
    sarsen_db = 10 * np.log10(np.where(results["sarsen"] > 0, results["sarsen"], np.nan))
    offsets = tile_offsets(ours_db, sarsen_db)
    both = np.isfinite(ours_db) & np.isfinite(sarsen_db)
    ours_s, sarsen_s = min(timings["ours"]), min(timings["sarsen"])
    print(
        json.dumps(
            {
                "ours_s": round(ours_s, 4),
                "sarsen_s": round(sarsen_s, 4),
                "speedup": round(sarsen_s / ours_s, 2),
                "max_offset_px": round(max(float(np.hypot(*o)) for o in offsets), 4),
                "tile_offsets_px": [[round(a, 3), round(b, 3)] for a, b in offsets],
                "correlation_valid_fraction": round(float(both.mean()), 4),
                "grid": list(grid.shape),
                "with_file_writes": bool(args.write),
                "sarsen_version": __import__("sarsen").__version__,
                "machine": describe(),
            }
        )
    )


if __name__ == "__main__":
    main()
