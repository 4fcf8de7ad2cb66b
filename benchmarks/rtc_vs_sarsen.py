"""Benchmark: soilsat's terrain-flattened gamma0 against sarsen's radiometric terrain correction, same product, DEM
and grid, in one run.

Builds a demo world of one hilly region (climate ``upland``: slopes up to about 25 degrees, its Sentinel-1 images
formed with the terrain's radiometry), takes its first ascending GRD product, writes the region's DEM
(ellipsoidal heights) as a GeoTIFF on the study grid, and runs in one process, alternating, best of --repeat:

* ours: open the SAFE zip, calibrate VV to beta0 (no noise removal, no speckle filter: as sarsen), compute the
  grid's geometry, add its DEM facets to the image's illuminated areas and sample gamma0
  (``soilsat.sar.reference.whole_grid.flatten``, the engine's flattening kernels), in memory;
* sarsen: ``sarsen.apps.do_terrain_correction`` with ``correct_radiometry="gamma_bilinear"`` and bilinear
  interpolation on the same (unzipped) product and DEM file, computed in memory, on the DEM grid (the study grid).

A third result, untimed, tells what the difference between the two is: our geometry, facet areas and bilinear beta0
normalised by the facet areas summed in sarsen's cells (``ours_in_sarsen_cells``: `--sarsen-grouping` image lines
by as many range spacings of slant range, each pixel given the areas of its cell) instead of per image pixel.

Agreement: the median absolute difference in dB over pixels valid in both, apart for gentle terrain (local
incidence within 10 degrees of the ellipsoid's), steep terrain (beyond) and the pixels our mask puts in layover
or shadow. The first run of each warms up (numba, imports).

Keys (last line, one JSON object): ours_s, sarsen_s, speedup, median_abs_db_gentle, median_abs_db_steep,
median_abs_db_layover_shadow, median_db_gentle (signed: ours minus sarsen), sarsen_cells (the same medians for
ours_in_sarsen_cells against sarsen), median_abs_db_vs_truth (each against the demo's noise-free gamma0), pixel
counts, machine.

Run: ``PYTHONPATH=scripts .venv/bin/python benchmarks/rtc_vs_sarsen.py [--size-m 6000] [--repeat 3]``
(sarsen: ``pip install -r benchmarks/requirements.txt``; without it the script says so and stops).
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
from machine import describe  # benchmarks/machine.py
from scipy import ndimage

from soilsat.demo.sentinel1 import write_products
from soilsat.demo.world import RegionSpec, WorldSpec, make_world
from soilsat.io import read_bands, write_cog
from soilsat.sar.calibration import sigma0_window
from soilsat.sar.dem import Dem
from soilsat.sar.engine import Measurement
from soilsat.sar.geocoding import RangeConversion, RangeDopplerModel
from soilsat.sar.orbit import SPEED_OF_LIGHT, annotation_orbit
from soilsat.sar.reference.whole_grid import flatten, grid_geometry
from soilsat.sar.safe import Annotation, open_product

GENTLE_DEG = 10.0  # local incidence within this of the ellipsoid incidence: gentle terrain


def beta_vv(zip_path: Path) -> tuple[np.ndarray, Annotation]:
    """The whole image's beta0 VV without noise removal (as sarsen calibrates), and its annotation."""
    with open_product(zip_path) as product:
        data = product.polarisation("VV")
        ann = data.annotation
        meas = Measurement(product, data)
        try:
            dn = meas.read(0, ann.number_of_lines, 0, ann.number_of_samples)
        finally:
            meas.close()
        beta, _ = sigma0_window(data, dn, 0, 0, denoise=False, lut="beta_nought")
    return beta, ann


def run_ours(zip_path: Path, dem: np.ndarray, grid, oversampling: int = 1) -> np.ndarray:
    """beta0 VV without noise removal, flattened onto the grid; returns gamma0 VV."""
    beta, ann = beta_vv(zip_path)
    out = flatten({"VV": beta}, ann, annotation_orbit(ann), Dem(dem, grid.transform, grid.crs), grid, oversampling)
    return out["gamma0_VV"]


def areas_in_cells(line: np.ndarray, slant_index: np.ndarray, area: np.ndarray, grouping: float) -> np.ndarray:
    """Each pixel's sum of the facet areas of its cell, cells of `grouping` image lines by `grouping` range spacings
    of slant range, as sarsen's gamma_bilinear sums them. sarsen spreads a facet's area over the four cells around
    its position with bilinear weights, but looks each of the four sums up at the same four cells of the pixel, so
    the weights add up to one and a pixel gets the areas of the facets whose position floors to its own cell (a facet
    exactly on a cell edge, where sarsen's weights are all zero, is counted here)."""
    az, sr = line / grouping, slant_index / grouping
    ok = np.isfinite(az) & np.isfinite(sr) & np.isfinite(area)
    ia, js = np.floor(az[ok]).astype(np.int64), np.floor(sr[ok]).astype(np.int64)
    ia, js = ia - ia.min(), js - js.min()
    sums = np.zeros((int(ia.max()) + 1, int(js.max()) + 1))
    np.add.at(sums, (ia, js), area[ok])
    out = np.full(line.shape, np.nan)
    out[ok] = sums[ia, js]
    return out


def ours_in_sarsen_cells(zip_path: Path, dem: np.ndarray, grid, grouping: float) -> np.ndarray:
    """gamma0 VV from our geometry, facet areas and bilinear beta0, normalised by areas summed in sarsen's cells
    (areas_in_cells) instead of per image pixel: what is left against sarsen is then not the normalisation's
    resolution."""
    beta, ann = beta_vv(zip_path)
    geo = grid_geometry(RangeDopplerModel.from_annotation(ann, annotation_orbit(ann)), grid, dem)
    conversion = RangeConversion(ann)
    near = SPEED_OF_LIGHT * ann.slant_range_time / 2.0  # one-way slant range of the first sample
    slant_index = (conversion.slant_range(geo.line, geo.pixel) - near) / ann.range_pixel_spacing
    lit = (geo.cos_local_incidence > 0) & np.isfinite(geo.surface_area)
    area = np.where(lit, geo.surface_area * geo.cos_local_incidence, 0.0)
    cell_area = ann.azimuth_pixel_spacing * grouping * ann.range_pixel_spacing * grouping
    normalised = areas_in_cells(geo.line, slant_index, area, grouping) / cell_area
    inside = geo.inside(ann.number_of_lines, ann.number_of_samples)
    sampled = ndimage.map_coordinates(
        beta.astype(float), [np.nan_to_num(geo.line), np.nan_to_num(geo.pixel)], order=1, mode="nearest"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inside & (normalised > 0), sampled / normalised, np.nan)


def run_sarsen(safe_dir: Path, dem_path: Path, grouping: float = 3.0) -> np.ndarray:
    """sarsen's RTC (gamma_bilinear, bilinear interpolation, areas grouped in cells of `grouping` x `grouping` image
    pixels: sarsen's default 3); returns its gamma nought, north-up on the DEM grid."""
    import sarsen
    import sarsen.apps
    import sarsen.scene

    product = sarsen.Sentinel1SarProduct(str(safe_dir), measurement_group="IW/VV")
    dem_raster = sarsen.scene.open_dem_raster(str(dem_path), chunks=1024)
    geocoded, _ = sarsen.apps.do_terrain_correction(
        product,
        dem_raster,
        correct_radiometry="gamma_bilinear",
        interp_method="linear",
        grouping_area_factor=(grouping, grouping),
    )
    values = geocoded.compute().values.astype(float)
    return values[::-1] if geocoded.y.values[1] > geocoded.y.values[0] else values


def median_abs_db(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> tuple[float | None, float | None, int]:
    """Median |dB difference| and median signed difference of a and b over `where` (valid in both), and the count."""
    ok = where & np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    if not ok.any():
        return None, None, 0
    diff = 10 * np.log10(a[ok] / b[ok])
    return round(float(np.median(np.abs(diff))), 4), round(float(np.median(diff)), 4), int(ok.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-m", type=float, default=6000.0, help="side of the demo region (metres)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--oversampling", type=int, default=1, help="sub-facets per grid pixel and axis (ours)")
    parser.add_argument("--climate", default="upland", help="the demo climate of the region (upland: hilly)")
    parser.add_argument(
        "--sarsen-grouping", type=float, default=3.0, help="sarsen's grouping_area_factor per axis (its default 3)"
    )
    parser.add_argument(
        "--looks", type=float, default=None, help="speckle looks of the demo images (default the preset's 4.4)"
    )
    args = parser.parse_args()
    try:
        import sarsen
    except ImportError:
        raise SystemExit("sarsen is not installed: pip install -r benchmarks/requirements.txt") from None
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rtc_bench_"))
    spec = WorldSpec(
        regions=(RegionSpec("h", 8.95, 55.95, args.size_m, args.climate),),
        start=date(2020, 4, 1),
        end=date(2020, 4, 5),
        probes_per_region=3,
        lucas_samples=10,
        **({"speckle_looks": args.looks} if args.looks else {}),
    )
    region = make_world(spec)[0]
    records = write_products([region], spec, work / "archive", work / "truth", workers=1)
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
        results["ours"] = run_ours(zip_path, dem, grid, args.oversampling)
        t1 = time.perf_counter()
        results["sarsen"] = run_sarsen(safe_dir, dem_path, args.sarsen_grouping)
        t2 = time.perf_counter()
        if k:
            timings["ours"].append(t1 - t0)
            timings["sarsen"].append(t2 - t1)
        print(f"run {k}: ours {t1 - t0:.3f} s, sarsen {t2 - t1:.3f} s", flush=True)

    with open_product(zip_path) as product:
        ann = product.annotation("VV")
    geo = grid_geometry(RangeDopplerModel.from_annotation(ann, annotation_orbit(ann)), grid, dem)
    lia, inc = geo.local_incidence_angle, geo.incidence_angle
    layover_shadow = geo.layover | geo.shadow
    gentle = (np.abs(lia - inc) <= GENTLE_DEG) & ~layover_shadow
    steep = (np.abs(lia - inc) > GENTLE_DEG) & ~layover_shadow
    ours, theirs = results["ours"], results["sarsen"]
    g_abs, g_signed, g_n = median_abs_db(ours, theirs, gentle)
    s_abs, s_signed, s_n = median_abs_db(ours, theirs, steep)
    l_abs, _, l_n = median_abs_db(ours, theirs, layover_shadow)
    block = lambda x: ndimage.uniform_filter(np.nan_to_num(x), 5)  # noqa: E731
    g5_abs, _, _ = median_abs_db(block(ours), block(theirs), ndimage.minimum_filter(gentle, 5))
    cells = ours_in_sarsen_cells(zip_path, dem, grid, args.sarsen_grouping)
    c_abs, c_signed, _ = median_abs_db(cells, theirs, gentle)
    cs_abs, _, _ = median_abs_db(cells, theirs, steep)
    truth = read_bands(work / "truth" / "sentinel1" / f"{rec['name']}_h.tif").get("gamma0_VV")
    versus_truth = {}
    if truth is not None:  # the hilly region's noise-free gamma0 (thermal noise was not removed: about +0.2 dB)
        versus_truth = {
            "ours": median_abs_db(ours, truth, gentle | steep)[0],
            "sarsen": median_abs_db(theirs, truth, gentle | steep)[0],
            "ours_in_sarsen_cells": median_abs_db(cells, truth, gentle | steep)[0],
        }
    ours_s, sarsen_s = min(timings["ours"]), min(timings["sarsen"])
    print(
        json.dumps(
            {
                "ours_s": round(ours_s, 4),
                "sarsen_s": round(sarsen_s, 4),
                "speedup": round(sarsen_s / ours_s, 2),
                "median_abs_db_gentle": g_abs,
                "median_abs_db_steep": s_abs,
                "median_abs_db_layover_shadow": l_abs,
                "median_db_gentle": g_signed,
                "median_db_steep": s_signed,
                "median_abs_db_gentle_5x5": g5_abs,
                "median_abs_db_vs_truth": versus_truth,
                "sarsen_cells": {
                    "median_abs_db_gentle": c_abs,
                    "median_db_gentle": c_signed,
                    "median_abs_db_steep": cs_abs,
                },
                "pixels": {"gentle": g_n, "steep": s_n, "layover_shadow": l_n},
                "grid": list(grid.shape),
                "oversampling": args.oversampling,
                "sarsen_grouping": args.sarsen_grouping,
                "speckle_looks": spec.speckle_looks,
                "climate": args.climate,
                "sarsen_version": sarsen.__version__,
                "machine": describe(),
            }
        )
    )


if __name__ == "__main__":
    main()
