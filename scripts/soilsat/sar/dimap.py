"""SNAP's BEAM-DIMAP output read by band name and cut to the study grid without resampling.

SNAP's DIMAP writer (snap-engine ``DimapHeaderWriter``) puts a header ``<name>.dim`` beside a
folder ``<name>.data`` with one ENVI pair per band, ``<band>.hdr`` and ``<band>.img``: raw
samples, band-sequential, big-endian (Java's byte order). The header lists each band by index
in ``Image_Interpretation/Spectral_Band_Info`` (name, data type, no-data value, scaling) and its
file in ``Data_Access/Data_File``; a map-projected product carries its CRS as WKT in
``Coordinate_Reference_System/WKT`` and its image-to-map affine transform in
``Geoposition/IMAGE_TO_MODEL_TRANSFORM`` (Java's ``AffineTransform.getMatrix`` order
m00, m10, m01, m11, m02, m12, the translation at the corner of the first pixel). The product's
metadata tree follows under ``Dataset_Sources`` as nested ``MDElem``/``MDATTR`` elements.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pyproj
from affine import Affine
from lxml import etree

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid

# DIMAP DATA_TYPE -> numpy dtype of the big-endian ENVI samples
DATA_TYPES = {
    "int8": ">i1",
    "uint8": ">u1",
    "int16": ">i2",
    "uint16": ">u2",
    "int32": ">i4",
    "uint32": ">u4",
    "float32": ">f4",
    "float64": ">f8",
}
ALIGNMENT_TOLERANCE = 1e-6  # pixels
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@dataclasses.dataclass(frozen=True)
class DimapBand:
    """One band of a DIMAP product: its name, the ENVI image file and how its samples read."""

    name: str
    image: Path
    dtype: str
    no_data: float | None  # None when NO_DATA_VALUE_USED is false
    scale: float
    offset: float


@dataclasses.dataclass(frozen=True)
class DimapProduct:
    """The parts of a DIMAP header soilsat reads."""

    path: Path
    width: int
    height: int
    crs_wkt: str
    transform: Affine
    bands: dict[str, DimapBand]
    root: etree._Element

    def metadata_attribute(self, element: str, attribute: str) -> str | None:
        """The text of MDATTR `attribute` of the metadata element named `element` (None if absent)."""
        found = self.root.xpath("//MDElem[@name=$e]/MDATTR[@name=$a]", e=element, a=attribute)
        return (found[0].text or "").strip() if found else None


def _text(root: etree._Element, path: str, where: Path) -> str:
    """The text of a required header element."""
    value = root.findtext(path)
    if value is None or not value.strip():
        raise ProductError(where, f"DIMAP header lacks {path}")
    return value.strip()


def read_header(path: str | os.PathLike) -> DimapProduct:
    """Parse a DIMAP header (.dim); ProductError naming the file and the element when it is not SNAP's."""
    path = Path(path)
    try:
        root = etree.parse(str(path), _PARSER).getroot()
    except OSError as exc:
        raise ProductError(path, f"SNAP output unreadable ({exc})") from None
    except etree.XMLSyntaxError as exc:
        raise ProductError(path, f"SNAP output header is not XML ({exc})") from None
    if root.tag != "Dimap_Document":
        raise ProductError(path, f"not a BEAM-DIMAP header (root element {root.tag!r})")
    width, height = int(_text(root, "Raster_Dimensions/NCOLS", path)), int(_text(root, "Raster_Dimensions/NROWS", path))
    matrix = [float(v) for v in _text(root, "Geoposition/IMAGE_TO_MODEL_TRANSFORM", path).split(",")]
    if len(matrix) != 6:
        raise ProductError(path, f"IMAGE_TO_MODEL_TRANSFORM has {len(matrix)} values, not 6")
    m00, m10, m01, m11, m02, m12 = matrix
    files = {
        el.findtext("BAND_INDEX").strip(): el.find("DATA_FILE_PATH").get("href")
        for el in root.findall("Data_Access/Data_File")
    }
    bands = {}
    for info in root.findall("Image_Interpretation/Spectral_Band_Info"):
        index, name = info.findtext("BAND_INDEX", "").strip(), info.findtext("BAND_NAME", "").strip()
        kind = info.findtext("DATA_TYPE", "").strip()
        if index not in files:
            continue  # a virtual band: no file
        if kind not in DATA_TYPES:
            raise ProductError(path, f"band {name} has data type {kind!r}, not one of {sorted(DATA_TYPES)}")
        used = info.findtext("NO_DATA_VALUE_USED", "false").strip().lower() == "true"
        bands[name] = DimapBand(
            name=name,
            image=(path.parent / files[index]).with_suffix(".img"),
            dtype=DATA_TYPES[kind],
            no_data=float(info.findtext("NO_DATA_VALUE", "0")) if used else None,
            scale=float(info.findtext("SCALING_FACTOR", "1")),
            offset=float(info.findtext("SCALING_OFFSET", "0")),
        )
    return DimapProduct(
        path=path,
        width=width,
        height=height,
        crs_wkt=_text(root, "Coordinate_Reference_System/WKT", path),
        transform=Affine(m00, m01, m02, m10, m11, m12),
        bands=bands,
        root=root,
    )


def grid_offset(product: DimapProduct, grid: StudyGrid) -> tuple[int, int]:
    """(row, col) of the study grid's first pixel in the product; ProductError unless the grid is a window of it."""
    try:
        crs = pyproj.CRS.from_wkt(product.crs_wkt)
    except pyproj.exceptions.CRSError:
        raise ProductError(product.path, "SNAP output CRS is not WKT pyproj reads") from None
    if crs.to_epsg(min_confidence=70) != grid.epsg and not crs.equals(pyproj.CRS.from_user_input(grid.crs)):
        raise ProductError(product.path, f"SNAP output is in {crs.name}, not the study grid's {grid.crs}")
    t = product.transform
    if (t.a, t.b, t.d, t.e) != (grid.resolution, 0.0, 0.0, -grid.resolution):
        raise ProductError(
            product.path,
            f"SNAP output pixels are {t.a} x {-t.e} (rotation {t.b}, {t.d}), not the "
            f"study grid's {grid.resolution} m north-up pixels",
        )
    col, row = (grid.x0 - t.c) / grid.resolution, (t.f - grid.y0) / grid.resolution
    if abs(col - round(col)) > ALIGNMENT_TOLERANCE or abs(row - round(row)) > ALIGNMENT_TOLERANCE:
        raise ProductError(
            product.path,
            f"SNAP output pixels are offset by ({row - round(row):+.3f}, "
            f"{col - round(col):+.3f}) pixels (row, col) from the study grid's; "
            "Terrain-Correction's standardGridOriginX/Y must be a pixel centre of the "
            "grid",
        )
    return round(row), round(col)


def read_window(product: DimapProduct, name: str, grid: StudyGrid, apply_no_data: bool = True) -> np.ndarray:
    """Band `name` on the study grid (float32, NaN outside the product and on its no-data value)."""
    band = product.bands.get(name)
    if band is None:
        raise ProductError(product.path, f"SNAP output has no band {name} (it has {sorted(product.bands)})")
    row, col = grid_offset(product, grid)
    try:
        expected = product.width * product.height * np.dtype(band.dtype).itemsize
        if band.image.stat().st_size != expected:
            raise ProductError(
                band.image,
                f"holds {band.image.stat().st_size} bytes, not the {expected} of a "
                f"{product.height} x {product.width} {band.dtype} band (truncated output)",
            )
        image = np.memmap(band.image, dtype=band.dtype, mode="r", shape=(product.height, product.width))
    except OSError as exc:
        raise ProductError(band.image, f"SNAP band file unreadable ({exc.strerror})") from None
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    r0, r1 = max(row, 0), min(row + grid.height, product.height)
    c0, c1 = max(col, 0), min(col + grid.width, product.width)
    if r0 < r1 and c0 < c1:
        values = np.asarray(image[r0:r1, c0:c1], dtype=np.float64)
        if apply_no_data and band.no_data is not None:
            values[values == band.no_data] = np.nan
        out[r0 - row : r1 - row, c0 - col : c1 - col] = values * band.scale + band.offset
    del image
    return out
