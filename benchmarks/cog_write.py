"""Time soilsat's COG options against floating-point prediction at DEFLATE's default level, side by side.

The stacks are COGs the workflow wrote (a Sentinel-1 sigma0 and a Sentinel-2 L2A product on a demo
study grid); both writers get the same bands, and the result must read back bit for bit.

Run: `PYTHONPATH=scripts .venv/bin/python benchmarks/cog_write.py results/demo/sentinel1/duero/X.tif ...`
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from machine import describe

from soilsat.io import COG_OPTIONS

PEER_OPTIONS = dict(driver="COG", compress="DEFLATE", predictor=3, blocksize=256, overview_resampling="average")


def write_seconds(data: np.ndarray, profile: dict, options: dict, path: Path, repeats: int) -> float:
    """Best of `repeats` wall times of staging `data` in memory and copying it to a COG at `path`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with rasterio.MemoryFile() as mem:
            with mem.open(driver="GTiff", **profile) as src:
                src.write(data)
                rasterio.shutil.copy(src, path, **options)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rasters", nargs="+", type=Path, help="float32 COGs written by the workflow")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for raster in args.rasters:
            with rasterio.open(raster) as src:
                data = src.read()
                profile = dict(
                    width=src.width,
                    height=src.height,
                    count=src.count,
                    dtype="float32",
                    crs=src.crs,
                    transform=src.transform,
                    nodata=src.nodata,
                )
            ours_path, peer_path = Path(tmp) / "ours.tif", Path(tmp) / "peer.tif"
            peer_s = write_seconds(data, profile, PEER_OPTIONS, peer_path, args.repeats)
            ours_s = write_seconds(data, profile, COG_OPTIONS, ours_path, args.repeats)
            with rasterio.open(ours_path) as src:
                lossless = bool(np.array_equal(src.read(), data, equal_nan=True))
            rows.append(
                {
                    "raster": raster.name,
                    "bands": int(data.shape[0]),
                    "shape": list(data.shape[1:]),
                    "ours_s": round(ours_s, 3),
                    "peer_s": round(peer_s, 3),
                    "speedup": round(peer_s / ours_s, 2),
                    "ours_mb": round(os.path.getsize(ours_path) / 1e6, 2),
                    "peer_mb": round(os.path.getsize(peer_path) / 1e6, 2),
                    "lossless": lossless,
                }
            )
            print(rows[-1])
    print(
        json.dumps(
            {
                "rasters": rows,
                "ours": {k: v for k, v in COG_OPTIONS.items() if k != "driver"},
                "peer": {k: v for k, v in PEER_OPTIONS.items() if k != "driver"},
                "machine": describe(),
            }
        )
    )


if __name__ == "__main__":
    main()
