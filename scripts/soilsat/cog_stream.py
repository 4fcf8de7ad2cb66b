"""Cloud-Optimised GeoTIFFs written block by block of rows, for grids too large to hold in memory.

The rows and each overview level (soilsat.pyramid) go to staging files beside the output as the
blocks pass; GDAL's COG driver then lays out and compresses them, reading the overviews from a
VRT that declares them instead of computing them by reading the whole raster back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pyproj
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.windows import Window

from soilsat.grid import StudyGrid
from soilsat.io import COG_OPTIONS, atomic_path
from soilsat.pyramid import Pyramid

# What the rows of a COG written block by block are staged in: plain float32, as the COG driver
# compresses them anyway. ZSTD at its fastest level halved the staging files but made the whole
# footprint-wide Sentinel-1 benchmark 1.15 times slower (179.9 s against 156.1 s). The price is disk:
# about 27 bytes per grid pixel of 5 bands with their overviews (16.5 GB for a whole IW footprint on a
# 10 m grid, 2 GB for a 50 km one), beside the output while the job runs.
STAGING = dict(compress="NONE")
STAGING_TILE = 256  # rows and columns of a staging file's tiles


class BlockWriter:
    """Rows of a (band, y, x) float32 raster on the study grid, written in order, block by block, with
    its overview levels (soilsat.pyramid) built as the rows pass; see cog_writer."""

    def __init__(
        self,
        folder: Path,
        grid: StudyGrid,
        band_names: Sequence[str],
        band_tags: Sequence[Mapping[str, object]],
        categorical: Sequence[bool],
        nodata: float,
        threads: int,
    ):
        self.grid, self.band_names, self.band_tags, self.nodata = grid, list(band_names), list(band_tags), nodata
        self.tags: dict[str, str] = {}
        self.pyramid = Pyramid(grid.height, grid.width, categorical, tile=COG_OPTIONS["blocksize"])
        self.paths = [folder / f"level{k}.tif" for k in range(len(self.pyramid.shapes) + 1)]
        shapes = [grid.shape, *self.pyramid.shapes]
        self.levels = []
        for path, (height, width) in zip(self.paths, shapes):
            scale = Affine.scale(grid.width / width, grid.height / height)
            profile = dict(
                driver="GTiff",
                width=width,
                height=height,
                count=len(band_names),
                dtype="float32",
                crs=grid.crs,
                transform=grid.transform @ scale,
                nodata=nodata,
                tiled=True,
                blockxsize=STAGING_TILE,
                blockysize=STAGING_TILE,
                **STAGING,
                bigtiff="YES",
                num_threads=max(int(threads), 1),
            )
            self.levels.append(rasterio.open(path, "w", **profile))
        self.pending: list[np.ndarray | None] = [None] * len(self.levels)
        self.next_row = 0

    def write(self, row0: int, rows: np.ndarray) -> None:
        """Write the next rows (band, row, x) starting at grid row `row0`."""
        if row0 != self.next_row:
            raise ValueError(f"rows must be written in order: row {row0} given, row {self.next_row} expected")
        self._write_level(0, row0, rows)
        self.next_row += rows.shape[1]
        for level, first, level_rows in self.pyramid.add(rows):
            self._write_level(level, first, level_rows)

    def update_tags(self, **tags: object) -> None:
        """Dataset tags of the COG."""
        self.tags.update({k: str(v) for k, v in tags.items()})

    def _write_level(self, level: int, first: int, rows: np.ndarray) -> None:
        """Write a level's rows in whole rows of staging tiles, holding back the rows of an unfinished tile row.

        GDAL keeps a partly written tile in its block cache until the rest of it arrives; rows handed on at
        other boundaries (Terrain-Flattening's lagging blocks) filled that cache up to GDAL_CACHEMAX (1.1 GB
        more peak memory on a 100 km grid). Held rows start on a tile boundary and are fewer than a tile's."""
        dst = self.levels[level]
        held = self.pending[level]
        if held is not None:
            start = first - held.shape[1]
            take = min(STAGING_TILE - held.shape[1], rows.shape[1])
            held = np.concatenate([held, rows[:, :take]], axis=1)
            rows, first = rows[:, take:], first + take
            if held.shape[1] < STAGING_TILE and first < dst.height:
                self.pending[level] = held
                return
            dst.write(held, window=Window(0, start, dst.width, held.shape[1]))
            self.pending[level] = None
        end = first + rows.shape[1]
        cut = end if end == dst.height else end - end % STAGING_TILE
        if cut == end and rows.shape[1]:
            dst.write(rows, window=Window(0, first, dst.width, rows.shape[1]))  # no copy when rows is contiguous
        elif cut > first:
            dst.write(rows[:, : cut - first], window=Window(0, first, dst.width, cut - first))
        if cut < end:
            self.pending[level] = rows[:, cut - first :].copy()

    def close(self) -> None:
        """Flush the last overview rows and close every level's file."""
        try:
            for level, first, rows in self.pyramid.finish():
                self._write_level(level, first, rows)
        finally:
            self.abort()

    def abort(self) -> None:
        """Close every level's file as it is."""
        for dst in self.levels:
            dst.close()

    def vrt(self) -> str:
        """A VRT of the full-resolution file with the level files as its overviews, names, tags and no-data."""

        def metadata(items: Mapping[str, object]) -> str:
            return (
                "<Metadata>"
                + "".join(f"<MDI key={quoteattr(str(k))}>{escape(str(v))}</MDI>" for k, v in items.items())
                + "</Metadata>"
            )

        height, width = self.grid.shape
        bands = []
        for b, name in enumerate(self.band_names, start=1):
            overviews = "".join(
                f'<Overview><SourceFilename relativeToVRT="0">{escape(str(p))}</SourceFilename>'
                f"<SourceBand>{b}</SourceBand></Overview>"
                for p in self.paths[1:]
            )
            bands.append(
                f'<VRTRasterBand dataType="Float32" band="{b}"><Description>{escape(name)}</Description>'
                f"{metadata(self.band_tags[b - 1]) if self.band_tags else ''}"
                f"<NoDataValue>{self.nodata!r}</NoDataValue><SimpleSource>"
                f'<SourceFilename relativeToVRT="0">{escape(str(self.paths[0]))}</SourceFilename>'
                f'<SourceBand>{b}</SourceBand><SrcRect xOff="0" yOff="0" xSize="{width}" ySize="{height}"/>'
                f'<DstRect xOff="0" yOff="0" xSize="{width}" ySize="{height}"/></SimpleSource>'
                f"{overviews}</VRTRasterBand>"
            )
        geotransform = ", ".join(repr(float(v)) for v in self.grid.transform.to_gdal())
        wkt = pyproj.CRS.from_user_input(self.grid.crs).to_wkt()
        return (
            f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>{escape(wkt)}</SRS>'
            f"<GeoTransform>{geotransform}</GeoTransform>{metadata(self.tags)}{''.join(bands)}</VRTDataset>"
        )


@contextlib.contextmanager
def cog_writer(
    path: str | os.PathLike,
    grid: StudyGrid,
    band_names: Sequence[str],
    band_tags: Sequence[Mapping[str, object]] | None = None,
    nodata: float = float("nan"),
    threads: int = 1,
    categorical: Sequence[bool] | None = None,
) -> Iterator[BlockWriter]:
    """Yield a BlockWriter for the rows of a float32 raster on the study grid; on success they become,
    atomically, a COG at `path` laid out as write_cog lays it out (DEFLATE on `threads` threads).

    The rows and each overview level go to staging files (STAGING, beside the output), so a grid
    too large for memory is written block by block; the overviews are computed as the rows pass
    (soilsat.pyramid: the mean of valid pixels, the top-left pixel for `categorical` bands), and
    GDAL's COG driver then lays out and compresses what the staging files hold."""
    categorical = categorical or [False] * len(band_names)
    with atomic_path(path) as tmp:
        folder = tmp.parent / "staging"
        folder.mkdir()
        writer = BlockWriter(folder, grid, band_names, band_tags or [], categorical, nodata, threads)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.close()
        vrt = folder / "stack.vrt"
        vrt.write_text(writer.vrt())
        with rasterio.Env(GDAL_NUM_THREADS=str(max(int(threads), 1))):
            # IF_SAFER: DEFLATE hides the size from IF_NEEDED, and a footprint-wide grid passes 4 GB
            rasterio.shutil.copy(
                vrt,
                tmp,
                num_threads=max(int(threads), 1),
                bigtiff="IF_SAFER",
                overviews="FORCE_USE_EXISTING",
                **COG_OPTIONS,
            )
        shutil.rmtree(folder)
