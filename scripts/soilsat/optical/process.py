"""An L2A product on a study grid: 10 m reflectances, clear-sky mask, indices and bare soil.

20 m (and 60 m) bands are resampled onto the 10 m study grid, and reprojected when the
grid's UTM zone differs from the tile's, by rasterio.warp (GDAL's warper): bilinear for
reflectance and nearest neighbour for the SCL and probability masks by default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import xarray as xr
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject

from soilsat.errors import ConfigError, ProductError
from soilsat.grid import StudyGrid
from soilsat.optical import indices, masks
from soilsat.optical.safe import BandRaster, OpenFiles, Product, band_raster, read_metadata
from soilsat.remote_files import is_remote
from soilsat.settings import Settings

PROBABILITY_MASKS = ("MSK_CLDPRB_20m", "MSK_SNWPRB_20m")


@dataclasses.dataclass(frozen=True)
class OpticalSettings(Settings):
    """How an L2A product is masked, resampled and turned into indices (config sentinel2, read by from_config)."""

    bands: tuple[str, ...]
    cloud_probability_max: float
    snow_probability_max: float
    scl_invalid: tuple[int, ...]
    mask_dilation_px: int
    resampling_reflectance: str
    resampling_masks: str
    ndvi_bands: tuple[str, str]
    ndwi_bands: tuple[str, str]
    evi_bands: tuple[str, str, str]
    evi_coefficients: tuple[float, float, float, float]
    bare_ndvi_max: float
    bare_nbr2_max: float

    def __post_init__(self) -> None:
        for key, name in (
            ("resampling.reflectance", self.resampling_reflectance),
            ("resampling.masks", self.resampling_masks),
        ):
            if name not in Resampling.__members__:
                raise ConfigError(f"config key sentinel2.{key}: unknown resampling {name!r}")
        if self.mask_dilation_px < 0:
            raise ConfigError(f"config key sentinel2.mask_dilation_px: must be >= 0, not {self.mask_dilation_px}")

    @property
    def needed_bands(self) -> tuple[str, ...]:
        """Every reflectance band read: the kept ones and those the indices and the bare-soil rule use."""
        extra = self.ndvi_bands + self.ndwi_bands + self.evi_bands + ("B02", "B03", "B04", "B11", "B12")
        return tuple(dict.fromkeys(self.bands + extra))

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Self:
        """The settings of a validated `sentinel2:` section, whose resampling and indices keys are nested."""
        ix = section["indices"]
        evi = ix["evi"]
        return cls(
            bands=tuple(section["bands"]),
            cloud_probability_max=float(section["cloud_probability_max"]),
            snow_probability_max=float(section["snow_probability_max"]),
            scl_invalid=tuple(int(c) for c in section["scl_invalid"]),
            mask_dilation_px=int(section["mask_dilation_px"]),
            resampling_reflectance=section["resampling"]["reflectance"],
            resampling_masks=section["resampling"]["masks"],
            ndvi_bands=(ix["ndvi"]["nir"], ix["ndvi"]["red"]),
            ndwi_bands=(ix["ndwi"]["nir"], ix["ndwi"]["swir"]),
            evi_bands=(evi["nir"], evi["red"], evi["blue"]),
            evi_coefficients=(float(evi["G"]), float(evi["C1"]), float(evi["C2"]), float(evi["L"])),
            bare_ndvi_max=float(ix["bare_soil"]["ndvi_max"]),
            bare_nbr2_max=float(ix["bare_soil"]["nbr2_max"]),
        )


def to_grid(
    band: BandRaster, grid: StudyGrid, resampling: str, dtype: str = "float32", fill: float = np.nan
) -> np.ndarray:
    """Warp a band from band_raster onto the study grid (fill outside its footprint)."""
    src, transform, crs = band.values, band.transform, band.crs
    if dtype != "float32":
        src = src.astype(dtype)
    out = np.full(grid.shape, fill, dtype=dtype)
    src_nodata = np.nan if dtype == "float32" else None
    reproject(
        src,
        out,
        src_transform=transform,
        src_crs=CRS.from_user_input(crs),
        dst_transform=grid.transform,
        dst_crs=CRS.from_user_input(grid.crs),
        resampling=Resampling[resampling],
        src_nodata=src_nodata,
        dst_nodata=fill if dtype == "float32" else None,
        init_dest_nodata=False,
    )
    return out


def _probability(product: Product, name: str, cover: StudyGrid | None, files: OpenFiles | None) -> BandRaster | None:
    """A cloud/snow probability mask as read, or None for products that have none (old baselines)."""
    try:
        return band_raster(product, name, cover=cover, files=files)
    except ProductError:
        if name in product.mask_files and _listed(product, name):
            raise
        return None


@dataclasses.dataclass(frozen=True)
class L2AWindows:
    """What l2a_on_grid reads of an L2A product for a grid: the reflectance bands, SCL and probability masks (None
    for a product without one), as stored, before they are put on the grid."""

    reflectance: dict[str, BandRaster]
    scl: BandRaster
    cloud: BandRaster | None
    snow: BandRaster | None


def read_l2a_windows(
    product: Product, grid: StudyGrid, settings: OpticalSettings, windowed: bool = False, files: OpenFiles | None = None
) -> L2AWindows:
    """The files of an L2A product that l2a_on_grid needs for a grid, read (only the window covering the grid if
    `windowed`; from the files kept open in `files`, if given)."""
    if product.level != "L2A":
        raise ProductError(product.mtd, f"is a {product.level} product; atmospheric correction (L2A) is needed")
    cover = grid if windowed else None
    reflectance = {b: band_raster(product, b, cover=cover, files=files) for b in settings.needed_bands}
    scl = band_raster(product, "SCL", cover=cover, files=files)
    cloud, snow = (_probability(product, name, cover, files) for name in PROBABILITY_MASKS)
    return L2AWindows(reflectance, scl, cloud, snow)


def l2a_on_grid(
    safe_path: str | os.PathLike | Product,
    grid: StudyGrid,
    settings: OpticalSettings,
    aoi_margin_m: float = 0.0,
    windowed: bool = False,
    **overrides: Any,
) -> xr.Dataset:
    """Reflectances, NDVI/NDWI/NBR2/EVI, bare-soil and validity masks of an L2A product on a grid.

    `overrides` replace single fields of `settings`; `aoi_margin_m` is the grid margin left
    out of the valid fraction; `windowed` reads only the window of each file that covers the
    grid (a chip's pixels from a remote file) instead of the whole file.
    """
    s = dataclasses.replace(settings, **overrides)
    product = safe_path if isinstance(safe_path, Product) else read_metadata(safe_path)
    return l2a_from_windows(product, grid, s, read_l2a_windows(product, grid, s, windowed), aoi_margin_m)


def l2a_from_windows(
    product: Product, grid: StudyGrid, settings: OpticalSettings, windows: L2AWindows, aoi_margin_m: float = 0.0
) -> xr.Dataset:
    """l2a_on_grid's dataset from the files already read for the grid (read_l2a_windows)."""
    s = settings
    refl = {b: to_grid(windows.reflectance[b], grid, s.resampling_reflectance) for b in s.needed_bands}
    scl = to_grid(windows.scl, grid, s.resampling_masks, dtype="int16", fill=0)
    cloud, snow = (
        None if mask is None else to_grid(mask, grid, s.resampling_masks, dtype="int16", fill=0)
        for mask in (windows.cloud, windows.snow)
    )
    valid = masks.clear_mask(scl, cloud, snow, s.scl_invalid, s.cloud_probability_max, s.snow_probability_max)
    valid = masks.dilate_invalid(valid, s.mask_dilation_px)
    for b in s.needed_bands:
        valid &= np.isfinite(refl[b])
    out = {b: np.where(valid, refl[b], np.nan).astype(np.float32) for b in s.needed_bands}
    ndvi = indices.ndvi(out[s.ndvi_bands[0]], out[s.ndvi_bands[1]])
    nbr2 = indices.nbr2(out["B11"], out["B12"])
    G, C1, C2, L = s.evi_coefficients
    evi = indices.evi(*(out[b] for b in s.evi_bands), G=G, C1=C1, C2=C2, L=L)  # type: ignore[misc, arg-type]  # mypy cannot size a star-unpacked generator
    bare = indices.bare_soil_mask(ndvi, nbr2, out["B02"], out["B03"], out["B04"], s.bare_ndvi_max, s.bare_nbr2_max)
    data_vars = {b: (("y", "x"), out[b], {"units": "1", "long_name": f"{b} surface reflectance"}) for b in s.bands}
    data_vars.update(
        {
            "NDVI": (("y", "x"), ndvi, {"long_name": f"NDVI ({s.ndvi_bands[0]}, {s.ndvi_bands[1]})"}),
            "NDWI": (
                ("y", "x"),
                indices.ndwi(out[s.ndwi_bands[0]], out[s.ndwi_bands[1]]),
                {"long_name": f"NDWI ({s.ndwi_bands[0]}, {s.ndwi_bands[1]})"},
            ),
            "NBR2": (("y", "x"), nbr2, {"long_name": "NBR2 (B11, B12)"}),
            "EVI": (
                ("y", "x"),
                evi,
                {"long_name": "EVI ({}, {}, {}; G {}, C1 {}, C2 {}, L {})".format(*s.evi_bands, G, C1, C2, L)},
            ),
            "bare": (
                ("y", "x"),
                (bare & valid).astype(np.uint8),
                {
                    "long_name": f"bare soil (Tziolas 2020: NDVI < {s.bare_ndvi_max}, NBR2 < {s.bare_nbr2_max}, "
                    "B3 > B2, B4 > B3)"
                },
            ),
            "valid": (
                ("y", "x"),
                valid.astype(np.uint8),
                {"long_name": "clear observation (not cloud, shadow, snow or no data)"},
            ),
        }
    )
    return xr.Dataset(
        data_vars,
        coords={"y": grid.y_coords(), "x": grid.x_coords()},
        attrs={
            "product": os.path.basename(product.root).removesuffix(".SAFE"),
            "sensing_time": product.sensing_time,
            "baseline": product.baseline,
            "tile": product.tile,
            "crs": grid.crs,
            "transform": list(grid.transform)[:6],
            "valid_fraction": masks.valid_fraction(valid, grid, aoi_margin_m),
            "cloud_probability_max": s.cloud_probability_max,
            "snow_probability_max": s.snow_probability_max,
            "scl_invalid": ",".join(str(c) for c in s.scl_invalid),
            "mask_dilation_px": s.mask_dilation_px,
            "resampling": f"{s.resampling_reflectance} (reflectance), {s.resampling_masks} (masks)",
        },
    )


def _listed(product: Product, name: str) -> bool:
    """Whether a quality mask is really part of the product (zip member or file)."""
    path = product.mask_files[name]
    if is_remote(path):
        return True  # a remote product lists only the masks its catalogue item has
    if product.members is not None:
        return path.split(".zip/", 1)[-1] in product.members
    return os.path.exists(path)
