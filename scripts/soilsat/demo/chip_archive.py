"""The demo archive as a chip route reads it: the products' files unpacked, their STAC items in product lists, and a
loopback HTTP server that answers byte ranges, so that a rehearsal's chips cross a wire and are counted as on CDSE.

`write_chip_archive` lays out a folder beside the demo archive: each Sentinel-2 L2A product's band, SCL and
probability-mask JP2 files (CDSE's asset keys: B04_10m, SCL_20m, CLD_20m, SNW_20m) and each Sentinel-1 GRD
product's SAFE folder, with a product list per source (a GeoJSON FeatureCollection of STAC items whose hrefs are
those local files). `served_items` runs the server over that folder for a block and gives the items with
their hrefs turned into the server's URLs; the chip readers then read them with GDAL's /vsicurl/ by ranges.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import shapely
from shapely.geometry import mapping

from soilsat.io import atomic_path
from soilsat.optical.safe import read_metadata

log = logging.getLogger(__name__)

S2_COLLECTION = "sentinel-2-l2a"
S1_COLLECTION = "sentinel-1-grd"
SOURCES = ("sentinel2", "sentinel1")
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def zip_member(gdal_path: str) -> bytes:
    """The bytes of one file of a zipped product, from its /vsizip/ path."""
    zip_path, member = gdal_path.removeprefix("/vsizip/").split(".zip/", 1)
    with zipfile.ZipFile(zip_path + ".zip") as z:
        return z.read(member)


def archive_item(row: pd.Series, collection: str, properties: dict, assets: dict) -> dict:
    """A STAC item of an archive product, its footprint from the archive's index."""
    footprint = shapely.from_wkt(row["footprint_wkt"])
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": str(row["name"]),
        "collection": collection,
        "geometry": mapping(footprint),
        "bbox": list(footprint.bounds),
        "properties": properties,
        "assets": assets,
        "links": [],
    }


def sentinel2_item(archive: Path, out: Path, row: pd.Series) -> dict:
    """A CDSE-like L2A item of one demo product: its band and mask JP2 files written under `out`."""
    product = read_metadata(archive / row["path"])
    files = {f"{band}_{res}m": path for (band, res), path in product.band_files.items()}
    files |= {"CLD_20m": product.mask_files["MSK_CLDPRB_20m"], "SNW_20m": product.mask_files["MSK_SNWPRB_20m"]}
    folder = out / "sentinel2" / f"{row['name']}.SAFE"
    folder.mkdir(parents=True, exist_ok=True)
    assets = {}
    for key, path in files.items():
        target = folder / path.rsplit("/", 1)[1]
        target.write_bytes(zip_member(path))
        assets[key] = {"href": str(target.resolve()), "type": "image/jp2", "file:size": target.stat().st_size}
    properties = {
        "datetime": product.sensing_time,
        "processing:version": product.baseline,
        "product:type": "S2MSI2A",
    }
    return archive_item(row, S2_COLLECTION, properties, assets)


def sentinel1_item(archive: Path, out: Path, row: pd.Series) -> dict:
    """A GRD item of one demo product: its SAFE folder unpacked under `out`, its size the zip's."""
    path = archive / row["path"]
    folder = out / "sentinel1" / f"{row['name']}.SAFE"
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.is_dir() and ".SAFE/" in info.filename:
                target = folder / info.filename.split(".SAFE/", 1)[1]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(info))
    assets = {"product": {"href": str(folder.resolve()), "file:size": path.stat().st_size}}
    return archive_item(row, S1_COLLECTION, {"datetime": row["sensing_start"]}, assets)


def write_chip_archive(archive: Path, files: Path, lists: Mapping[str, Path]) -> dict[str, int]:
    """Unpack the demo archive's Sentinel-2 L2A and Sentinel-1 products under `files` and write their product lists
    (`lists`, by source); the number of items of each source."""
    index_path = archive / "index.csv"
    if not index_path.exists():
        raise FileNotFoundError(f"{index_path}: no demo archive index; rerun rule demo_world")
    index = pd.read_csv(index_path)
    files.mkdir(parents=True, exist_ok=True)
    rows = {
        "sentinel2": index[(index["source"] == "sentinel2") & (index["product_type"] == "S2MSI2A")],
        "sentinel1": index[index["source"] == "sentinel1"],
    }
    writers = {"sentinel2": sentinel2_item, "sentinel1": sentinel1_item}
    counts = {}
    for source in SOURCES:
        items = [writers[source](archive, files, row) for _, row in rows[source].iterrows()]
        with atomic_path(lists[source]) as tmp:
            tmp.write_text(json.dumps({"type": "FeatureCollection", "features": items}, indent=1))
        counts[source] = len(items)
        log.info("%s: %d items in %s", source, len(items), lists[source])
    return counts


def _handler(root: Path) -> type[BaseHTTPRequestHandler]:
    """A request handler serving the files under `root`, whole or by one byte range."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # the base class's name
            """Keep each request out of the job's log."""

        def _send(self, code: int, body: bytes, headers: Mapping[str, str]) -> None:
            """Answer with a status, headers and (except to HEAD) the body."""
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            """Answer as GET, without the body."""
            self.do_GET()

        def do_GET(self) -> None:
            """A file under the root, whole or the one range asked for; 404 for anything else."""
            path = (root / self.path.split("?", 1)[0].lstrip("/")).resolve()
            if not path.is_file() or not path.is_relative_to(root):
                return self._send(404, b"not found", {"Content-Type": "text/plain"})
            size = path.stat().st_size
            match = _RANGE.fullmatch(self.headers.get("Range", ""))
            if match is None:
                return self._send(200, path.read_bytes(), {"Accept-Ranges": "bytes"})
            start = int(match.group(1))
            end = min(int(match.group(2) or size - 1), size - 1)
            with path.open("rb") as f:
                f.seek(start)
                body = f.read(max(end - start + 1, 0))
            self._send(206, body, {"Content-Range": f"bytes {start}-{end}/{size}", "Accept-Ranges": "bytes"})

    return Handler


@contextlib.contextmanager
def serve_folder(root: Path) -> Iterator[str]:
    """Serve the files under `root` on 127.0.0.1 (a free port) for the block; its base URL."""
    root = root.resolve()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(root))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="demo-chip-archive", daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def served_hrefs(items: Sequence[Mapping], root: Path, url: str) -> list[dict]:
    """The items with every asset href under `root` turned into its URL at `url`; ValueError naming an href
    outside it."""
    root = root.resolve()
    out = []
    for item in items:
        assets = {}
        for key, asset in (item.get("assets") or {}).items():
            href = Path(str(asset["href"]))
            if not href.is_relative_to(root):
                raise ValueError(
                    f"STAC item {item.get('id', '?')}: asset {key} ({href}) is not in the demo chip "
                    f"archive {root}; rerun rule demo_chip_archive"
                )
            assets[key] = {**asset, "href": f"{url}/{href.relative_to(root).as_posix()}"}
        out.append({**item, "assets": assets})
    return out


@contextlib.contextmanager
def served_items(items: Sequence[Mapping], root: str | Path | None) -> Iterator[list[dict]]:
    """The items with the demo chip archive at `root` served over loopback HTTP for the block; as they are when
    `root` is None (the chip route's own archives)."""
    if root is None:
        yield [dict(item) for item in items]
        return
    with serve_folder(Path(root)) as url:
        log.info("demo chip archive %s served at %s", root, url)
        yield served_hrefs(items, Path(root), url)
