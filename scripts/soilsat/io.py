"""Writing outputs: atomic file placement and Cloud-Optimised GeoTIFFs on the study grid."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and rasterio load on first use, so light jobs (fetching) start fast
    import numpy as np

    from soilsat.grid import StudyGrid


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path` and move it into place only on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    # A run killed while writing leaves its staging folder behind: clear it before writing anew.
    for stale in final.parent.glob(f".{final.name}.*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent)) / final.name
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


# DEFLATE, the compression every TIFF reader knows, with horizontal differencing at level 1: on a
# 4000 x 4000 Sentinel-1 output (5 bands) it writes 1.3 times faster than level 3 at the same size
# (229.7 against 230.9 MB), which in turn wrote about 1.3 times faster than floating-point prediction at
# the default level 6 (benchmarks/cog_write.py).
# What the rows of a COG written block by block are staged in: plain float32, as the COG driver
# compresses them anyway. ZSTD at its fastest level halved the staging files but made the whole
# footprint-wide Sentinel-1 benchmark 1.15 times slower (179.9 s against 156.1 s). The price is disk:
# about 27 bytes per grid pixel of 5 bands with their overviews (16.5 GB for a whole IW footprint on a
# 10 m grid, 2 GB for a 50 km one), beside the output while the job runs.
STAGING = dict(compress="NONE")
COG_OPTIONS = dict(driver="COG", compress="DEFLATE", predictor=2, level=1, blocksize=256, overview_resampling="average")


def write_cog(
    path: str | os.PathLike,
    bands: np.ndarray,
    grid: StudyGrid,
    band_names: Sequence[str],
    tags: Mapping[str, object] | None = None,
    band_tags: Sequence[Mapping[str, object]] | None = None,
    nodata: float = float("nan"),
) -> None:
    """Write a (band, y, x) float32 stack on the study grid as a COG, atomically."""
    import numpy as np
    import rasterio
    import rasterio.shutil

    bands = np.asarray(bands, dtype=np.float32)
    if bands.ndim == 2:
        bands = bands[None]
    if bands.shape[1:] != grid.shape:
        raise ValueError(f"raster shape {bands.shape[1:]} does not match the study grid {grid.shape}")
    if len(band_names) != bands.shape[0]:
        raise ValueError(f"{len(band_names)} band names for {bands.shape[0]} bands")
    mem_profile = dict(width=grid.width, height=grid.height, count=bands.shape[0], dtype="float32", crs=grid.crs,
                       transform=grid.transform, nodata=nodata)
    with atomic_path(path) as tmp:
        # The COG driver writes from a source dataset, so stage the bands in memory first.
        with rasterio.MemoryFile() as mem:
            with mem.open(driver="GTiff", **mem_profile) as src:
                src.write(bands)
                for i, name in enumerate(band_names, start=1):
                    src.set_band_description(i, name)
                    if band_tags:
                        src.update_tags(i, **{k: str(v) for k, v in band_tags[i - 1].items()})
                if tags:
                    src.update_tags(**{k: str(v) for k, v in tags.items()})
                rasterio.shutil.copy(src, tmp, **COG_OPTIONS)


class BlockWriter:
    """Rows of a (band, y, x) float32 raster on the study grid, written in order, block by block, with
    its overview levels (soilsat.pyramid) built as the rows pass; see cog_writer."""

    def __init__(self, folder: Path, grid: StudyGrid, band_names: Sequence[str], band_tags: Sequence[Mapping[str, object]],
                 categorical: Sequence[bool], nodata: float, threads: int):
        import rasterio
        from affine import Affine

        from soilsat.pyramid import Pyramid

        self.grid, self.band_names, self.band_tags, self.nodata = grid, list(band_names), list(band_tags), nodata
        self.tags: dict[str, str] = {}
        self.pyramid = Pyramid(grid.height, grid.width, categorical, tile=COG_OPTIONS["blocksize"])
        self.paths = [folder / f"level{k}.tif" for k in range(len(self.pyramid.shapes) + 1)]
        shapes = [grid.shape, *self.pyramid.shapes]
        self.levels = []
        for path, (height, width) in zip(self.paths, shapes):
            scale = Affine.scale(grid.width / width, grid.height / height)
            profile = dict(driver="GTiff", width=width, height=height, count=len(band_names), dtype="float32",
                           crs=grid.crs, transform=grid.transform @ scale, nodata=nodata, tiled=True, blockxsize=256,
                           blockysize=256, **STAGING, bigtiff="YES", num_threads=max(int(threads), 1))
            self.levels.append(rasterio.open(path, "w", **profile))
        self.next_row = 0

    def write(self, row0: int, rows: np.ndarray) -> None:
        """Write the next rows (band, row, x) starting at grid row `row0`."""
        from rasterio.windows import Window

        if row0 != self.next_row:
            raise ValueError(f"rows must be written in order: row {row0} given, row {self.next_row} expected")
        self.levels[0].write(rows, window=Window(0, row0, self.grid.width, rows.shape[1]))
        self.next_row += rows.shape[1]
        for level, first, level_rows in self.pyramid.add(rows):
            self._write_level(level, first, level_rows)

    def update_tags(self, **tags: object) -> None:
        """Dataset tags of the COG."""
        self.tags.update({k: str(v) for k, v in tags.items()})

    def _write_level(self, level: int, first: int, rows: np.ndarray) -> None:
        from rasterio.windows import Window

        dst = self.levels[level]
        dst.write(rows, window=Window(0, first, dst.width, rows.shape[1]))

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
        from xml.sax.saxutils import escape, quoteattr

        def metadata(items: Mapping[str, object]) -> str:
            return "<Metadata>" + "".join(f"<MDI key={quoteattr(str(k))}>{escape(str(v))}</MDI>"
                                          for k, v in items.items()) + "</Metadata>"

        height, width = self.grid.shape
        bands = []
        for b, name in enumerate(self.band_names, start=1):
            overviews = "".join(f"<Overview><SourceFilename relativeToVRT=\"0\">{escape(str(p))}</SourceFilename>"
                                f"<SourceBand>{b}</SourceBand></Overview>" for p in self.paths[1:])
            bands.append(
                f"<VRTRasterBand dataType=\"Float32\" band=\"{b}\"><Description>{escape(name)}</Description>"
                f"{metadata(self.band_tags[b - 1]) if self.band_tags else ''}"
                f"<NoDataValue>{self.nodata!r}</NoDataValue><SimpleSource>"
                f"<SourceFilename relativeToVRT=\"0\">{escape(str(self.paths[0]))}</SourceFilename>"
                f"<SourceBand>{b}</SourceBand><SrcRect xOff=\"0\" yOff=\"0\" xSize=\"{width}\" ySize=\"{height}\"/>"
                f"<DstRect xOff=\"0\" yOff=\"0\" xSize=\"{width}\" ySize=\"{height}\"/></SimpleSource>"
                f"{overviews}</VRTRasterBand>")
        geotransform = ", ".join(repr(float(v)) for v in self.grid.transform.to_gdal())
        import pyproj

        wkt = pyproj.CRS.from_user_input(self.grid.crs).to_wkt()
        return (f"<VRTDataset rasterXSize=\"{width}\" rasterYSize=\"{height}\"><SRS>{escape(wkt)}</SRS>"
                f"<GeoTransform>{geotransform}</GeoTransform>{metadata(self.tags)}{''.join(bands)}</VRTDataset>")


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

    The rows and each overview level go to staging files (ZSTD level 1, beside the output), so a grid
    too large for memory is written block by block; the overviews are computed as the rows pass
    (soilsat.pyramid: the mean of valid pixels, the top-left pixel for `categorical` bands), and
    GDAL's COG driver then lays out and compresses what the staging files hold."""
    import rasterio
    import rasterio.shutil

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
            rasterio.shutil.copy(vrt, tmp, num_threads=max(int(threads), 1), bigtiff="IF_SAFER",
                                 overviews="FORCE_USE_EXISTING", **COG_OPTIONS)
        shutil.rmtree(folder)


def read_bands(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every band of a raster into a dict keyed by band description."""
    import numpy as np
    import rasterio

    with rasterio.open(path) as src:
        data = src.read().astype(np.float32)
        names = [d or f"band_{i + 1}" for i, d in enumerate(src.descriptions)]
        if src.nodata is not None and not np.isnan(src.nodata):
            data[data == src.nodata] = np.nan
    return dict(zip(names, data))


def write_dataset_cog(path: str | os.PathLike, dataset, grid: StudyGrid, tags: Mapping[str, object] | None = None) -> None:
    """Write every (y, x) variable of an xarray Dataset as one band of a COG, in order."""
    import numpy as np

    names = [name for name, var in dataset.data_vars.items() if var.dims == ("y", "x")]
    stack = np.stack([dataset[name].values.astype(np.float32) for name in names])
    band_tags = [{k: v for k, v in dataset[name].attrs.items() if isinstance(v, (str, int, float))} for name in names]
    merged = {k: v for k, v in dataset.attrs.items() if isinstance(v, (str, int, float))}
    merged.update(tags or {})
    write_cog(path, stack, grid, names, tags=merged, band_tags=band_tags)
