"""The Tziolas (2020) point chain at scale through loopback range reads (issue 25, performance).

A demo world of regions in several UTM zones is written once (`--keep DIR` reuses it): Sentinel-2 L2A
products as COGs (each band at its native resolution, SCL, cloud and snow probabilities; DEFLATE,
`--blocksize` tiles, overviews) on a demo tile of the region plus `--tile-margin-km`, and Sentinel-1
IW GRDH products as SAFE folders (measurement TIFFs read by ranges), every file served by the loopback
STAC API and byte-range server of the tests (tests/loopback_stac.py). A Sentinel-2 item lists its COGs,
a Sentinel-1 item its SAFE folder (as the workflow's rehearsal items do), each asset with its
`file:size` (a folder's: the total of its files). Points are drawn uniformly inside the regions, taken
in turn from each region, so the 100 points are the first 100 of the 200.

For each point count the timed chain is the chip route's own code, called in the order of its rules
(rules/chips.smk; scripts/chip_search.py, chips_sentinel2.py, chips_sentinel1.py, extract_samples.py)
with the shipped config.yaml's settings:
  - search: soilsat.extract.chip_items.search_point_items, one STAC search per collection over the
    points and the period (the items whose footprint holds a point);
  - Sentinel-2: soilsat.extract.chip_optical.optical_point_values, every point's chip from every item
    over it (bands, SCL and probability masks; the 10 bands, bare-soil and valid flags at the point's
    pixel and the chip's valid fraction);
  - Sentinel-1: soilsat.extract.pairing.usable_chips (chips whose valid fraction reaches
    sentinel2.min_valid_fraction), soilsat.extract.chip_radar.radar_requests (for each point, the
    product over it closest in time within extract.samples.sentinel1_pair_days, 1 day, to each of its
    bare, valid observations: one chip per point and product) and radar_point_values (the chips
    product by product, soilsat.sar.chip_reads.s1_chips: XMLs whole, the image window by ranges, the
    graph of the config's sentinel1 section on each chip, the first demo DEM covering it);
  - sample table: soilsat.extract.pairing.pair_observations (point, time, 10 bands, VV and VH in dB,
    the Sentinel-1 time; band outliers dropped).
The chips are the benchmark's CHIP (15 x 15 pixels: a 5 x 5 window, 5 pixels of halo), not the 9 x 9
pixels the chip route reads by default (point_chip_shape: one pixel, chips.halo_m of 40 m). Each count
gets a fresh server (a new port, so GDAL's cache of an earlier run serves nothing). `bytes_read` is what
the chip readers counted; `bytes_served` is what the server counted; they must agree. The counts:
`point_observations` (Sentinel-2 chips), `clear_observations` (of them, valid enough), `bare_observations`
(of those, bare and valid at the point's pixel), `s1_pairs` (of those, paired with a Sentinel-1 chip,
before the outliers go), `s1_chips`, `samples` and `samples_with_s1` (the sample table's rows).

The peer, side by side: the whole products the same observations need (the `file:size` of the assets
of every Sentinel-2 item and Sentinel-1 product read from), and for the smallest count the time to
download their files whole from the same server (`whole_download_s`: transfer only, no processing).

Extrapolation to the published study (6,136 points, 3 years). Time comes from the smallest count's
measured seconds per Sentinel-2 point-observation and per Sentinel-1 chip (the fewest points per product,
so the least sharing of blocks between chips); bytes and requests from an `isolated` run of one point per
region (one point per product: nothing shared), with each file's first answer (a COG's header, an XML
whole; GDAL's HEAD and first GET) shared by the points of a product that one job reads. Assumptions:
  - Sentinel-2 observations per point: the demo's count per point (revisit 5 days, as S2A + S2B in
    2017-2019, one tile per point) scaled from the demo period to 3 x 365.25 days;
  - Sentinel-1 chips per Sentinel-2 observation: `--bare-share` (default 0.15: about half the
    overpasses clear, about a third of the clear cropland observations bare in the tillage seasons)
    x `--pairing-rate` (default 0.8: S1A + S1B, 6-day repeat, two to four relative orbits over a
    European point, so an acquisition within a day of most overpasses); the demo's own shares are
    reported beside them (its bare share is of an April world in the tillage season);
  - 2 cores: the serial time over 2, points split in independent jobs (no shared state but the
    archive); the loopback server runs in the benchmark's process, so its work is in the time;
  - no network latency on loopback: `--latency-ms` per request, the requests of a job in sequence and
    `--jobs-per-core` jobs a core, gives the latency-bound time beside it;
  - a SLURM cluster of `--nodes` nodes x `--cores-per-node`: the points of one Sentinel-2 tile to a job
    (Snakemake's `group`), more per job when that would exceed `--max-jobs` jobs, one core a job,
    `--job-overhead-s` to start one;
  - whole products: `--s2-product-gb` and `--s1-product-gb`, shared by `--points-per-s2-product` /
    `--points-per-s1-product` points (6,136 points over the about 4 million km2 of the LUCAS 2009
    countries: about 15 in a 110 km tile, about 65 in a 250 x 170 km scene).

With `--full-size-s1 DIR` (benchmarks/s1_chain.py's full-size GRD, built there if missing: ESA's S1B metadata and
uncompressed measurement TIFFs of 16,705 x 26,102 samples, 1.75 GB), `--full-size-points` points over its footprint
are read in one radar_point_values call from a loopback server (full_size_s1): the bytes of measurement lines a
chip and of the XMLs on a product of the real size, and the published-scale ratio priced with them
(`published_bytes_ratio_full_size_s1`), since the demo's products have small XMLs and narrow image lines.

Run: `PYTHONPATH=scripts .venv/bin/python benchmarks/point_scale.py [--points 100 200 400] [--keep DIR]`
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import math
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
import requests
import shapely.wkt
import yaml
from shapely.geometry import mapping

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the loopback servers of the tests

from machine import describe  # benchmarks/machine.py

from loopback_stac import StacArchive, serve_stac  # tests/loopback_stac.py
from soilsat.acquire.download import RetryPolicy
from soilsat.chips import ChipShape, chip_shape
from soilsat.demo import reflectance as rf
from soilsat.demo import sentinel1 as demo_s1
from soilsat.demo.ancillary import write_dem
from soilsat.demo.sentinel2 import L2A_BANDS, acquisition, demo_tile, product_id, scene_classification, to_dn
from soilsat.demo.world import RegionSpec, RegionWorld, WorldSpec, make_world, sentinel2_schedule
from soilsat.extract.chip_items import search_point_items
from soilsat.extract.chip_optical import optical_point_values
from soilsat.extract.chip_radar import radar_point_values, radar_requests
from soilsat.extract.pairing import SampleSettings, pair_observations, usable_chips, usable_rows
from soilsat.grid import StudyGrid
from soilsat.optical.chip_observations import item_bytes
from soilsat.optical.process import OpticalSettings

log = logging.getLogger("point_scale")

S2_COLLECTION = "sentinel-2-l2a"
S1_COLLECTION = "sentinel-1-grd"
FULL_POINTS = 6136
FULL_YEARS = 3.0
# the default regions: one per UTM zone 30 to 33, in the climates of the countries they lie in
REGIONS = (
    RegionSpec("castilla", -3.5, 40.5, 3000.0, "semiarid"),
    RegionSpec("beauce", 1.9, 48.2, 3000.0, "humid"),
    RegionSpec("jutland", 8.95, 55.95, 3000.0, "humid"),
    RegionSpec("wielkopolska", 16.9, 52.4, 3000.0, "humid"),
)
CHIP = chip_shape(5, [30.0, 20.0], 10.0)  # 5 x 5 model window, Lee sigma 7x7 (30 m) and bilinear support (20 m)


@dataclasses.dataclass(frozen=True)
class DemoArchive:
    """The demo products on disk: Sentinel-2 item templates (asset files), Sentinel-1 records, DEMs, regions."""

    root: Path
    s2: list[dict]
    s1: list[dict]
    regions: dict[str, dict]
    start: str
    end: str

    @property
    def days(self) -> float:
        """Length of the demo period in days (both ends included)."""
        return (dt.date.fromisoformat(self.end) - dt.date.fromisoformat(self.start)).days + 1.0


def _block_reduce(a: np.ndarray, factor: int, how: str) -> np.ndarray:
    """Block mean or max of a 2-D array by an integer factor."""
    if factor == 1:
        return a
    h, w = a.shape
    b = a[: h - h % factor, : w - w % factor].reshape(h // factor, factor, w // factor, factor)
    return b.mean(axis=(1, 3)) if how == "mean" else b.max(axis=(1, 3))


def _cog_bytes(data: np.ndarray, epsg: int, transform: rasterio.Affine, blocksize: int) -> bytes:
    """One band as a COG in memory (DEFLATE, `blocksize` tiles, overviews as GDAL's COG driver makes them)."""
    profile = dict(width=data.shape[1], height=data.shape[0], count=1, dtype=data.dtype.name)
    with rasterio.MemoryFile() as mem:
        with mem.open(
            driver="COG", crs=f"EPSG:{epsg}", transform=transform, compress="DEFLATE", blocksize=blocksize, **profile
        ) as dst:
            dst.write(data, 1)
        return mem.read()


def write_s2_cogs(
    world: RegionWorld, spec: WorldSpec, index: int, row: Mapping, margin_m: float, blocksize: int, out: Path
) -> dict:
    """One L2A overpass as COG files (native resolutions, SCL, CLD, SNW); its item template (asset files)."""
    day = pd.Timestamp(row["date"]).normalize()
    tile = demo_tile(world.grid, world.spec.lon, world.spec.lat, margin_m)
    scene = acquisition(world, spec, index, day, tile)
    pid = product_id("L2A", str(row["platform"]), day, world.spec.lon, tile.name)
    folder = out / pid.name
    folder.mkdir(parents=True, exist_ok=True)
    layers: dict[str, tuple[np.ndarray, int]] = {}
    for res, bands in L2A_BANDS.items():
        for band in bands:
            if rf.RESOLUTION[band] == res:
                layers[f"{band}_{res}m"] = (
                    to_dn(_block_reduce(scene.boa[rf.BAND_INDEX[band]], res // 10, "mean")),
                    res,
                )
    layers["SCL_20m"] = (scene_classification(scene), 20)
    layers["CLD_20m"] = (_block_reduce(scene.cloud_probability, 2, "max").astype(np.uint8), 20)
    layers["SNW_20m"] = (_block_reduce(scene.snow_probability, 2, "max").astype(np.uint8), 20)
    assets = {}
    for key, (data, res) in layers.items():
        path = folder / f"{key}.tif"
        path.write_bytes(_cog_bytes(data, tile.epsg, tile.transform(res), blocksize))
        assets[key] = str(path.relative_to(out.parent))
    return {
        "id": pid.name,
        "datetime": f"{pid.sensing:%Y-%m-%dT%H:%M:%S}Z",
        "platform": {"S2A": "sentinel-2a", "S2B": "sentinel-2b"}[str(row["platform"])],
        "tile": tile.name,
        "footprint_wkt": tile.footprint_wkt(),
        "region": world.spec.name,
        "assets": assets,
    }


def build_archive(
    root: Path, regions: Sequence[RegionSpec], start: dt.date, end: dt.date, margin_m: float, blocksize: int
) -> DemoArchive:
    """Write the demo world's products under `root` (or reuse them when `root` holds the same setup)."""
    setup = {
        "regions": [dataclasses.asdict(r) for r in regions],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "tile_margin_m": margin_m,
        "blocksize": blocksize,
    }
    manifest = root / "archive.json"
    if manifest.exists():
        stored = json.loads(manifest.read_text())
        if stored["setup"] == setup:
            return DemoArchive(root, stored["s2"], stored["s1"], stored["regions"], setup["start"], setup["end"])
    spec = WorldSpec(
        regions=tuple(regions), start=start, end=end, probes_per_region=3, lucas_samples=10, s1_repeat_days=6
    )
    world = make_world(spec, workers=2)
    by_name = {w.spec.name: i for i, w in enumerate(world)}
    s2 = [
        write_s2_cogs(
            world[by_name[row["region"]]], spec, by_name[row["region"]], row, margin_m, blocksize, root / "s2"
        )
        for row in sentinel2_schedule(spec).to_dict("records")
    ]
    s1 = demo_s1.write_products(world, spec, root / "archive", root / "truth")
    write_dem(world, root / "dem")
    grids = {w.spec.name: dataclasses.asdict(w.grid) for w in world}
    manifest.write_text(json.dumps({"setup": setup, "s2": s2, "s1": s1, "regions": grids}))
    return DemoArchive(root, s2, s1, grids, setup["start"], setup["end"])


def _feature(item_id: str, collection: str, footprint_wkt: str, properties: dict, assets: dict) -> dict:
    """A STAC item of the loopback API."""
    geometry = shapely.wkt.loads(footprint_wkt)
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": ["https://stac-extensions.github.io/file/v2.1.0/schema.json"],
        "id": item_id,
        "collection": collection,
        "geometry": mapping(geometry),
        "bbox": list(geometry.bounds),
        "properties": properties,
        "assets": assets,
        "links": [],
    }


def _safe_files(zip_path: Path) -> dict[str, bytes]:
    """The files of a zipped SAFE by their path in the SAFE folder."""
    with zipfile.ZipFile(zip_path) as z:
        return {
            i.filename.split(".SAFE/", 1)[1]: z.read(i)
            for i in z.infolist()
            if not i.is_dir() and ".SAFE/" in i.filename
        }


@dataclasses.dataclass(frozen=True)
class ServedFiles:
    """Every file of the demo archive by its server path, read once and shared by the runs' servers."""

    files: dict[str, bytes]
    s2: list[tuple[dict, dict[str, str]]]  # item template and its asset paths on the server
    s1: list[tuple[dict, dict[str, str]]]  # record and its files' paths on the server, by path in the SAFE


def load_files(archive: DemoArchive) -> ServedFiles:
    """Read the archive's files into memory under the paths the server will give them."""
    files: dict[str, bytes] = {}
    s2 = []
    for template in archive.s2:
        paths = {}
        for key, rel in template["assets"].items():
            paths[key] = f"/s2/{template['id']}/{key}.tif"
            files[paths[key]] = (archive.root / rel).read_bytes()
        s2.append((template, paths))
    s1 = []
    for record in archive.s1:
        paths = {}
        for rel, data in _safe_files(archive.root / "archive" / record["path"]).items():
            paths[rel] = f"/s1/{record['name']}.SAFE/{rel}"
            files[paths[rel]] = data
        s1.append((record, paths))
    return ServedFiles(files, s2, s1)


def product_files(served: ServedFiles) -> dict[str, list[str]]:
    """The server paths of every file of each product, by item id."""
    s2 = {str(template["id"]): sorted(paths.values()) for template, paths in served.s2}
    return s2 | {str(record["name"]): sorted(paths.values()) for record, paths in served.s1}


def serve(api: StacArchive, served: ServedFiles) -> None:
    """Put the files and the STAC items (hrefs on this server, `file:size` of each asset) on a loopback API: a
    Sentinel-2 item lists its COGs, a Sentinel-1 item its SAFE folder (as the workflow's rehearsal items do)."""
    api.files.update(served.files)
    for template, paths in served.s2:
        assets = {
            key: {
                "href": f"{api.url}{path}",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "file:size": len(served.files[path]),
            }
            for key, path in paths.items()
        }
        properties = {
            "datetime": template["datetime"],
            "platform": template["platform"],
            "s2:processing_baseline": "05.00",
            "s2:product_type": "S2MSI2A",
            "s2:mgrs_tile": template["tile"],
        }
        api.items.append(_feature(template["id"], S2_COLLECTION, template["footprint_wkt"], properties, assets))
    for record, paths in served.s1:
        size = sum(len(served.files[path]) for path in paths.values())
        assets = {"product": {"href": f"{api.url}/s1/{record['name']}.SAFE", "file:size": size}}
        properties = {
            "datetime": record["sensing_start"],
            "sat:orbit_state": record["orbit_direction"].lower(),
            "sar:product_type": "GRD",
            "sar:polarizations": ["VV", "VH"],
        }
        api.items.append(_feature(record["name"], S1_COLLECTION, record["footprint_wkt"], properties, assets))


def place_points(archive: DemoArchive, n: int, shape: ChipShape, seed: int = 7) -> pd.DataFrame:
    """`n` points drawn uniformly inside the regions (chips and DEM inside them), one region after the other in turn,
    so the first points of a larger set are a smaller set."""
    rng = np.random.default_rng(seed)
    names = sorted(archive.regions)
    grids = {name: StudyGrid(**archive.regions[name]) for name in names}
    to_lonlat = {name: pyproj.Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True) for name, g in grids.items()}
    rows = []
    for k in range(n):
        name = names[k % len(names)]
        grid = grids[name]
        margin = (shape.half + 3) * grid.resolution
        left, bottom, right, top = grid.bounds
        x, y = rng.uniform(left + margin, right - margin), rng.uniform(bottom + margin, top - margin)
        lon, lat = to_lonlat[name].transform(x, y)
        rows.append((f"{name}_{k // len(names):04d}", name, float(lon), float(lat)))
    return pd.DataFrame(rows, columns=["point_id", "region", "lon", "lat"])


@dataclasses.dataclass(frozen=True)
class Settings:
    """The chain's settings: the shipped config's sentinel1, sentinel2, chips and extract.samples sections."""

    sentinel1: dict
    optical: OpticalSettings
    min_valid_fraction: float
    samples: SampleSettings
    page_size: int
    retries: RetryPolicy


def load_settings() -> Settings:
    """The shipped config.yaml, validated against the schema (defaults filled in)."""
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, str(ROOT / "rules" / "schemas" / "config.schema.yaml"))
    return Settings(
        sentinel1=config["sentinel1"],
        optical=OpticalSettings.from_config(config["sentinel2"]),
        min_valid_fraction=float(config["sentinel2"]["min_valid_fraction"]),
        samples=SampleSettings.from_config(config["extract"]["samples"]),
        page_size=int(config["chips"]["page_size"]),
        retries=RetryPolicy.from_config(config["chips"]["retries"]),
    )


def search_source(
    url: str, collection: str, points: pd.DataFrame, archive: DemoArchive, settings: Settings
) -> list[dict]:
    """Rule chip_search for one source: the collection's items over the points in the demo period."""
    start, end = dt.date.fromisoformat(archive.start), dt.date.fromisoformat(archive.end)
    with requests.Session() as session:
        return search_point_items(url, collection, points, start, end, settings.page_size, settings.retries, session)


def read_radar(
    optical: pd.DataFrame,
    items: list[dict],
    points: pd.DataFrame,
    archive: DemoArchive,
    settings: Settings,
    shape: ChipShape,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rule chips_sentinel1: the points to read from each item, then their chips' (values, costs). The demo DEMs cover
    every chip; with no `dem` settings a chip they did not cover would fail instead of fetching Copernicus tiles."""
    usable = usable_chips(optical, settings.min_valid_fraction)
    wanted = radar_requests(usable, items, points, settings.samples.sentinel1_pair_days)
    dems = sorted(str(p) for p in (archive.root / "dem").glob("*.tif"))
    return radar_point_values(items, wanted, points, shape, settings.sentinel1, dems)


def pair_samples(points: pd.DataFrame, optical: pd.DataFrame, radar: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Rule extract_samples on the chip route: the clear chips' bare-soil observations paired with Sentinel-1."""
    usable = usable_chips(optical, settings.min_valid_fraction)
    samples = settings.samples
    return pair_observations(
        points["point_id"].tolist(), usable, radar, samples.sentinel1_pair_days, samples.outlier_sd
    )


def paired_before_outliers(points: pd.DataFrame, optical: pd.DataFrame, radar: pd.DataFrame, settings: Settings) -> int:
    """The bare-soil observations that found a Sentinel-1 within the pairing window, before the band outliers go."""
    usable = usable_chips(optical, settings.min_valid_fraction)
    table = pair_observations(
        points["point_id"].tolist(), usable, radar, settings.samples.sentinel1_pair_days, math.inf
    )
    return int(table["VV"].notna().sum())


def _whole_bytes(items: list[dict]) -> int:
    """The bytes of every asset of these items, by their file:size."""
    return sum(item_bytes(item) or 0 for item in items)


def run_chain(
    url: str, points: pd.DataFrame, archive: DemoArchive, settings: Settings, shape: ChipShape = CHIP
) -> dict:
    """The timed point chain against a running API, the workflow's functions in the order of its rules (chip_search,
    chips_sentinel2, chips_sentinel1, extract_samples); what it read, what whole products would have cost, and
    where the time went."""
    t0 = time.perf_counter()
    s2_items = search_source(url, S2_COLLECTION, points, archive, settings)
    s1_items = search_source(url, S1_COLLECTION, points, archive, settings)
    t_search = time.perf_counter()
    optical, optical_costs = optical_point_values(s2_items, points, shape, settings.optical)
    t_s2 = time.perf_counter()
    radar, radar_costs = read_radar(optical, s1_items, points, archive, settings, shape)
    t_s1 = time.perf_counter()
    samples = pair_samples(points, optical, radar, settings)
    t_end = time.perf_counter()
    clear = usable_chips(optical, settings.min_valid_fraction)
    s2_used = [i for i in s2_items if str(i["id"]) in set(optical_costs["item"])]
    s1_read = [i for i in s1_items if str(i["id"]) in set(radar_costs["item"])]
    s2_whole, s1_whole = _whole_bytes(s2_used), _whole_bytes(s1_read)
    s2_bytes, s1_bytes = int(optical_costs["bytes_read"].sum()), int(radar_costs["bytes_read"].sum())
    return {
        "points": len(points),
        "wall_s": t_end - t0,
        "search_s": t_search - t0,
        "s2_s": t_s2 - t_search,
        "s1_s": t_s1 - t_s2,
        "table_s": t_end - t_s1,
        "point_observations": len(optical),
        "clear_observations": len(clear),
        "bare_observations": len(usable_rows(clear)),
        "s1_pairs": paired_before_outliers(points, optical, radar, settings),
        "s1_chips": len(radar),
        "samples": len(samples),
        "samples_with_s1": int(samples["VV"].notna().sum()),
        "s2_items": len(s2_used),
        "s1_products": len(s1_read),
        "bytes_read": s2_bytes + s1_bytes,
        "bytes_s2": s2_bytes,
        "bytes_s1": s1_bytes,
        "bytes_whole_products": s2_whole + s1_whole,
        "bytes_whole_s2": s2_whole,
        "bytes_whole_s1": s1_whole,
        "products_read": sorted(str(item["id"]) for item in s2_used + s1_read),
    }


def first_answer_bytes(api: StacArchive, prefix: str) -> int:
    """Bytes of the first answer of each file under `prefix` (a COG's or TIFF's header, an XML whole): what the chips
    of one product share when one job reads them."""
    seen: set[str] = set()
    total = 0
    for request in api.requests:
        path = request["path"]
        if request["method"] != "GET" or not path.startswith(prefix) or path in seen or path not in api.files:
            continue
        seen.add(path)
        size = len(api.files[path])
        start, _, end = str(request.get("range") or "").removeprefix("bytes=").partition("-")
        if not start:
            total += size
        else:
            total += min(int(end) if end else size - 1, size - 1) - int(start) + 1
    return total


def first_requests(api: StacArchive) -> int:
    """Requests that open a file (GDAL's HEAD, and the first GET of each file): shared by the chips of one job."""
    heads = sum(1 for r in api.requests if r["method"] == "HEAD")
    return heads + len({r["path"] for r in api.requests if r["method"] == "GET" and r["path"] in api.files})


def whole_download_s(hrefs: Sequence[str]) -> tuple[float, int]:
    """Seconds and bytes to download these files whole from the server (the whole-product peer's transfer)."""
    t0 = time.perf_counter()
    nbytes = 0
    with requests.Session() as session:
        for href in hrefs:
            answer = session.get(href, timeout=60)
            answer.raise_for_status()
            nbytes += len(answer.content)
    return time.perf_counter() - t0, nbytes


def measure(served: ServedFiles, archive: DemoArchive, points: pd.DataFrame, settings: Settings, peer: bool) -> dict:
    """One point count on a fresh server: the chain's figures, the server's count, and the peer's download."""
    with serve_stac() as api:
        serve(api, served)
        cpu0 = time.process_time()
        result = run_chain(api.url, points, archive, settings)
        result["cpu_s"] = time.process_time() - cpu0  # this process's CPU, the server thread's included
        result["bytes_served"] = sum(api.sent.values())
        result["requests"] = sum(1 for r in api.requests if r["path"] != "/search")
        result["requests_first"] = first_requests(api)
        result["bytes_first_s2"] = first_answer_bytes(api, "/s2/")
        result["bytes_first_s1"] = first_answer_bytes(api, "/s1/")
        files = product_files(served)
        hrefs = [f"{api.url}{path}" for item_id in result.pop("products_read") for path in files[item_id]]
        if peer:
            seconds, nbytes = whole_download_s(hrefs)
            result["whole_download_s"], result["whole_download_bytes"] = seconds, nbytes
    n = max(result["point_observations"], 1)
    result["bytes_ratio"] = result["bytes_read"] / result["bytes_whole_products"]
    result["bytes_per_point_observation"] = result["bytes_read"] / n
    result["s_per_point_observation"] = result["wall_s"] / n
    return result


def scaling_exponent(points: Sequence[int], wall_s: Sequence[float]) -> float:
    """Least-squares slope of log(wall_s) against log(points)."""
    return float(np.polyfit(np.log(np.asarray(points, float)), np.log(np.asarray(wall_s, float)), 1)[0])


@dataclasses.dataclass(frozen=True)
class Assumptions:
    """What the extrapolation to the published study assumes beyond what the benchmark measures (see docstring)."""

    bare_share: float = 0.15
    pairing_rate: float = 0.8
    cores: int = 2
    nodes: int = 10
    cores_per_node: int = 32
    max_jobs: int = 500
    job_overhead_s: float = 30.0
    latency_ms: float = 30.0
    jobs_per_core: int = 4
    s2_product_gb: float = 1.0
    s1_product_gb: float = 1.7
    points_per_s2_product: float = 15.0
    points_per_s1_product: float = 65.0


def _per_unit(run: Mapping) -> dict[str, float]:
    """A run's costs per Sentinel-2 point-observation and per Sentinel-1 chip (seconds, bytes, requests)."""
    n_obs, n_s1 = max(run["point_observations"], 1), max(run["s1_chips"], 1)
    return {
        "s_s2": (run["search_s"] + run["s2_s"] + run["table_s"]) / n_obs,
        "s_s1": run["s1_s"] / n_s1,
        "bytes_s2": run["bytes_s2"] / n_obs,
        "bytes_s1": run["bytes_s1"] / n_s1,
        "first_s2": run["bytes_first_s2"] / n_obs,
        "first_s1": run["bytes_first_s1"] / n_s1,
        "requests": run["requests"] / (run["point_observations"] + run["s1_chips"]),
        "requests_first": run["requests_first"] / (run["point_observations"] + run["s1_chips"]),
    }


def extrapolate(
    timed: Mapping, isolated: Mapping, days: float, a: Assumptions, full_size: Mapping | None = None
) -> dict:
    """The published study (6,136 points x 3 years): time from the `timed` run's costs (the fewest points per
    product), bytes and requests from the `isolated` run's (one point per product: nothing shared between chips),
    and, with `full_size` (full_size_s1), the bytes again with a Sentinel-1 chip priced on a full-size product."""
    t, iso = _per_unit(timed), _per_unit(isolated)
    if not isolated["s1_chips"]:  # no bare, paired observation among the isolated points: the timed run's chips
        iso["bytes_s1"], iso["first_s1"] = t["bytes_s1"], t["first_s1"]
    s2_per_point = timed["point_observations"] / timed["points"] * FULL_YEARS * 365.25 / days
    s1_per_point = s2_per_point * a.bare_share * a.pairing_rate
    per_point_s = s2_per_point * t["s_s2"] + s1_per_point * t["s_s1"]
    requests = iso["requests"] - iso["requests_first"] + iso["requests_first"] / a.points_per_s2_product
    per_point_latency_s = (s2_per_point + s1_per_point) * requests * a.latency_ms / 1000.0
    serial_s = FULL_POINTS * per_point_s
    points_per_job = max(math.ceil(a.points_per_s2_product), math.ceil(FULL_POINTS / a.max_jobs))
    jobs = math.ceil(FULL_POINTS / points_per_job)
    waves = math.ceil(jobs / (a.nodes * a.cores_per_node))
    job_s = a.job_overhead_s + points_per_job * max(per_point_s, per_point_latency_s / a.jobs_per_core)
    s2_whole = FULL_POINTS * s2_per_point / a.points_per_s2_product * a.s2_product_gb * 1e9
    s1_whole = FULL_POINTS * s1_per_point / a.points_per_s1_product * a.s1_product_gb * 1e9
    # a job reads the points of one tile (or several), so each file's first answer is shared by its points there
    s2_obs = iso["bytes_s2"] - iso["first_s2"] + iso["first_s2"] / a.points_per_s2_product
    s1_chip = iso["bytes_s1"] - iso["first_s1"] + iso["first_s1"] / min(a.points_per_s1_product, points_per_job)
    s2_read, s1_read = FULL_POINTS * s2_per_point * s2_obs, FULL_POINTS * s1_per_point * s1_chip
    alone = FULL_POINTS * (s2_per_point * iso["bytes_s2"] + s1_per_point * iso["bytes_s1"])
    full: dict[str, float] = {}
    if full_size:
        shared = min(a.points_per_s1_product, points_per_job)
        chip = full_size["bytes_measurement_per_chip"] + full_size["bytes_metadata"] / shared
        read = s2_read + FULL_POINTS * s1_per_point * chip
        full = {
            "bytes_per_s1_chip_full_size": chip,
            "published_bytes_read_full_size_s1": read,
            "published_bytes_ratio_full_size_s1": read / (s2_whole + s1_whole),
        }
    return {
        "s2_observations_per_point": s2_per_point,
        "s1_chips_per_point": s1_per_point,
        "s_per_s2_observation": t["s_s2"],
        "s_per_s1_chip": t["s_s1"],
        "serial_s": serial_s,
        "extrapolated_full_s": serial_s / a.cores,
        "requests_per_chip_isolated": iso["requests"],
        "requests_per_chip_grouped": requests,
        "extrapolated_full_latency_bound_s": FULL_POINTS * per_point_latency_s / (a.cores * a.jobs_per_core),
        "cluster_points_per_job": points_per_job,
        "cluster_jobs": jobs,
        "cluster_waves": waves,
        "extrapolated_cluster_s": waves * job_s,
        "bytes_per_s2_observation_isolated": iso["bytes_s2"],
        "bytes_per_s1_chip_isolated": iso["bytes_s1"],
        "bytes_first_answers_per_s2_observation_isolated": iso["first_s2"],
        "bytes_first_answers_per_s1_chip_isolated": iso["first_s1"],
        "published_bytes_read": s2_read + s1_read,
        "published_bytes_whole_products": s2_whole + s1_whole,
        "published_bytes_ratio": (s2_read + s1_read) / (s2_whole + s1_whole),
        "published_bytes_ratio_unshared": alone / (s2_whole + s1_whole),
        **full,
    }


def footprint_points(safe: Path, n: int, seed: int = 11) -> pd.DataFrame:
    """`n` points inside a GRD product's footprint: random mixtures of two tie points of its geolocation grid that lie
    off the grid's edges (the footprint is convex)."""
    from soilsat.sar.safe import open_product

    with open_product(safe) as product:
        geo = product.annotation("VV").geolocation
    inner = geo[geo["line"].between(geo["line"].min(), geo["line"].max(), inclusive="neither")]
    inner = inner[inner["pixel"].between(geo["pixel"].min(), geo["pixel"].max(), inclusive="neither")]
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(inner), n), rng.integers(0, len(inner), n)
    u = rng.uniform(0.1, 0.9, n)
    lon = u * inner["longitude"].to_numpy()[a] + (1 - u) * inner["longitude"].to_numpy()[b]
    lat = u * inner["latitude"].to_numpy()[a] + (1 - u) * inner["latitude"].to_numpy()[b]
    return pd.DataFrame({"point_id": [f"f{i:03d}" for i in range(n)], "lon": lon, "lat": lat})


def full_size_s1(safe: Path, n: int, settings: Settings, shape: ChipShape = CHIP) -> dict:
    """The Sentinel-1 chips of `n` points over a full-size GRD product (a SAFE folder, as benchmarks/s1_chain.py
    builds one: ESA's metadata, uncompressed measurement TIFFs of one image line a strip), read in one call of the
    workflow's radar_point_values from a loopback server, as one job reads a product's points: what a chip costs in
    measurement rows and what the product's XMLs cost, against the product's size."""
    from s1_chain import make_dem  # benchmarks/s1_chain.py: a smooth DEM around a grid

    from soilsat.extract.chip_points import point_chips

    points = footprint_points(safe, n)
    chips = point_chips(points, shape)
    files = {p.relative_to(safe).as_posix(): p.read_bytes() for p in sorted(safe.rglob("*")) if p.is_file()}
    with tempfile.TemporaryDirectory(prefix="point_scale_dem_") as folder, serve_stac() as api:
        dems = []
        for name, chip in chips.items():
            dems.append(Path(folder) / f"{name}.tif")
            make_dem(safe, chip, dems[-1])
        for rel, data in files.items():
            api.add_file(f"/s1/{safe.name}/{rel}", data)
        item = {
            "id": safe.stem,
            "properties": {"datetime": f"{safe.stem.split('_')[4][:8]}T00:00:00Z"},
            "assets": {"safe": {"href": f"{api.url}/s1/{safe.name}", "file:size": sum(map(len, files.values()))}},
        }
        t0, c0 = time.perf_counter(), time.process_time()
        values, costs = radar_point_values(
            [item], {item["id"]: list(points["point_id"])}, points, shape, settings.sentinel1, [str(d) for d in dems]
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        sent, requests_made = dict(api.sent), len(api.requests)
    measurement = sum(v for k, v in sent.items() if "/measurement/" in k)
    metadata = sum(sent.values()) - measurement
    assert int(costs["bytes_read"].sum()) == sum(sent.values()), "the chips' bytes differ from the server's"
    return {
        "product": safe.stem,
        "product_bytes": sum(map(len, files.values())),
        "chips": n,
        "valid_chips": int(np.isfinite(values["VV"].to_numpy(dtype=float)).sum()),
        "bytes_measurement_per_chip": measurement / n,
        "bytes_metadata": metadata,
        "bytes_read": measurement + metadata,
        "requests": requests_made,
        "wall_s": wall,
        "cpu_s": cpu,
        "s_per_chip": wall / n,
    }


def benchmark(
    archive: DemoArchive,
    counts: Sequence[int],
    assumptions: Assumptions,
    settings: Settings | None = None,
    full_size: tuple[Path, int] | None = None,
) -> dict:
    """Every point count through the chain, the scaling exponent and the extrapolation (with `full_size`, a full-size
    GRD SAFE and a point count, the Sentinel-1 chips' bytes on it too): the benchmark's JSON."""
    settings = settings or load_settings()
    served = load_files(archive)
    counts = sorted(counts)
    t0 = time.perf_counter()
    with serve_stac() as api:  # numba's cached kernels, GDAL's drivers and the first imports: not timed below
        serve(api, served)
        run_chain(api.url, place_points(archive, len(archive.regions), CHIP, seed=0), archive, settings)
    warm_up_s = time.perf_counter() - t0
    # one point per region (so per product): what a chip costs when no other chip shares its file's header or blocks
    isolated = measure(served, archive, place_points(archive, len(archive.regions), CHIP, seed=1), settings, False)
    runs = [
        measure(served, archive, place_points(archive, n, CHIP), settings, peer=(i == 0)) for i, n in enumerate(counts)
    ]
    for run in runs:
        log.info("%s", json.dumps(run))
    walls = [r["wall_s"] for r in runs]
    s1_full = full_size_s1(*full_size, settings) if full_size else None
    full = extrapolate(runs[0], isolated, archive.days, assumptions, s1_full)
    return {
        "points": counts,
        "wall_s": [round(w, 3) for w in walls],
        "bytes_read": [r["bytes_read"] for r in runs],
        "bytes_served": [r["bytes_served"] for r in runs],
        "bytes_whole_products": [r["bytes_whole_products"] for r in runs],
        "bytes_ratio": [round(r["bytes_ratio"], 5) for r in runs],
        "bytes_ratio_s2": [round(r["bytes_s2"] / r["bytes_whole_s2"], 5) for r in runs],
        "bytes_ratio_s1": [
            round(r["bytes_s1"] / r["bytes_whole_s1"], 5) if r["bytes_whole_s1"] else None for r in runs
        ],
        "point_observations": [r["point_observations"] for r in runs],
        "bytes_per_point_observation": [round(r["bytes_per_point_observation"]) for r in runs],
        "s_per_point_observation": [round(r["s_per_point_observation"], 5) for r in runs],
        "runs": runs,
        "isolated": isolated,
        "s1_full_size": s1_full,
        "warm_up_s": round(warm_up_s, 2),
        "cpu_s": [round(r["cpu_s"], 3) for r in runs],
        "scaling_exponent": round(scaling_exponent(counts, walls), 3) if len(counts) > 1 else None,
        "scaling_exponent_cpu": round(scaling_exponent(counts, [r["cpu_s"] for r in runs]), 3)
        if len(counts) > 1
        else None,
        "extrapolated_full_s": round(full["extrapolated_full_s"], 1),
        "extrapolation": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in full.items()},
        "assumptions": dataclasses.asdict(assumptions),
        "demo": {
            "days": archive.days,
            "regions": sorted(archive.regions),
            "utm_epsg": sorted({int(g["epsg"]) for g in archive.regions.values()}),
            "s2_items": len(archive.s2),
            "s1_products": len(archive.s1),
            "chip_side_px": CHIP.side,
            "bare_share": runs[-1]["bare_observations"] / max(runs[-1]["point_observations"], 1),
            "pairing_rate": runs[-1]["s1_pairs"] / max(runs[-1]["bare_observations"], 1),
        },
        "machine": describe(),
    }


def main(argv: Sequence[str] | None = None) -> dict:
    """Parse the options, write or reuse the demo archive, run the point counts, print the JSON last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--keep", type=Path, default=None, help="folder to write the demo archive to and reuse")
    parser.add_argument("--start", default="2020-04-01")
    parser.add_argument("--days", type=int, default=20, help="length of the demo period")
    parser.add_argument("--tile-margin-km", type=float, default=5.0, help="Sentinel-2 tile beyond each region")
    parser.add_argument("--blocksize", type=int, default=256, help="COG tile side of the Sentinel-2 assets")
    parser.add_argument(
        "--full-size-s1",
        type=Path,
        default=None,
        help="a folder holding (or to hold) benchmarks/s1_chain.py's full-size GRD SAFE: price Sentinel-1 chips on it",
    )
    parser.add_argument("--full-size-points", type=int, default=65, help="points read from the full-size product")
    for field in dataclasses.fields(Assumptions):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    # the demo archive has no precise orbit files: every chip would warn that it uses the annotation orbit
    logging.getLogger("soilsat.sar.engine").setLevel(logging.ERROR)
    # most demo points show no bare soil in 20 days: pair_observations would name them at every run
    logging.getLogger("soilsat.extract.pairing").setLevel(logging.ERROR)
    start = dt.date.fromisoformat(args.start)
    end = start + dt.timedelta(days=args.days - 1)
    assumptions = Assumptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Assumptions)})
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="point_scale_")))
        root.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        archive = build_archive(root, REGIONS, start, end, args.tile_margin_km * 1000, args.blocksize)
        build_s = time.perf_counter() - t0
        full_size = None
        if args.full_size_s1:
            from s1_chain import FIXTURE, make_safe  # benchmarks/s1_chain.py

            safe = args.full_size_s1 / FIXTURE.name
            if not (safe / "measurement").is_dir():
                args.full_size_s1.mkdir(parents=True, exist_ok=True)
                safe = make_safe(args.full_size_s1)
            full_size = (safe, args.full_size_points)
        result = benchmark(archive, args.points, assumptions, full_size=full_size)
    result["archive_build_s"] = round(build_s, 1)  # writing (or, with --keep, reusing) the demo archive
    result["machine"] = result.pop("machine")  # last, as in every benchmark's JSON
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
