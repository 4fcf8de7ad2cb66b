"""An L2A product on a study grid: 10 m reflectances, cloud/snow masking and indices."""

from __future__ import annotations

import os

import numpy as np
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.optical import indices
from soilsat.optical.safe import Product, read_band, read_metadata

L2A_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")


def to_grid(da: xr.DataArray, grid: StudyGrid, resampling: str, dtype: str = "float32",
            fill: float = np.nan) -> np.ndarray:
    """Warp a DataArray from read_band onto the study grid (fill outside its footprint)."""
    src = da.values
    if dtype != "float32":
        src = src.astype(dtype)
    out = np.full(grid.shape, fill, dtype=dtype)
    src_nodata = np.nan if dtype == "float32" else None
    reproject(src, out, src_transform=Affine(*da.attrs["transform"]), src_crs=CRS.from_user_input(da.attrs["crs"]),
              dst_transform=grid.transform, dst_crs=CRS.from_user_input(grid.crs),
              resampling=Resampling[resampling], src_nodata=src_nodata, dst_nodata=fill if dtype == "float32" else None,
              init_dest_nodata=False)
    return out


def l2a_on_grid(
    safe_path: str | os.PathLike | Product,
    grid: StudyGrid,
    bands: tuple[str, ...] = L2A_BANDS,
    cloud_prob_max: float = 90,
    snow_prob_max: float = 90,
    scl_invalid: tuple[int, ...] = (0, 1, 3, 8, 9, 10, 11),
    resampling: str = "bilinear",
) -> xr.Dataset:
    """Reflectances, NDVI/NDWI/NBR2/EVI, bare-soil and validity masks of an L2A product on a grid."""
    product = safe_path if isinstance(safe_path, Product) else read_metadata(safe_path)
    if product.level != "L2A":
        raise ProductError(product.mtd, f"is a {product.level} product; atmospheric correction (L2A) is needed")
    needed = tuple(dict.fromkeys(bands + ("B02", "B03", "B04", "B08", "B8A", "B11", "B12")))
    refl = {b: to_grid(read_band(product, b), grid, resampling) for b in needed}
    scl = to_grid(read_band(product, "SCL"), grid, "nearest", dtype="int16", fill=0)
    valid = ~np.isin(scl, scl_invalid)
    for name, limit in (("MSK_CLDPRB_20m", cloud_prob_max), ("MSK_SNWPRB_20m", snow_prob_max)):
        try:
            prob = to_grid(read_band(product, name), grid, "nearest", dtype="int16", fill=0)
        except ProductError:
            if name in product.mask_files and _listed(product, name):
                raise
            continue  # older products without the probability masks: SCL alone decides
        valid &= prob < limit
    for b in needed:
        valid &= np.isfinite(refl[b])
    out = {b: np.where(valid, refl[b], np.nan).astype(np.float32) for b in needed}
    ndvi = indices.ndvi(out["B8A"], out["B04"])
    nbr2 = indices.nbr2(out["B11"], out["B12"])
    data_vars = {b: (("y", "x"), out[b], {"units": "1", "long_name": f"{b} surface reflectance"}) for b in bands}
    data_vars.update({
        "NDVI": (("y", "x"), ndvi, {"long_name": "NDVI (B8A, B04)"}),
        "NDWI": (("y", "x"), indices.ndwi(out["B8A"], out["B12"]), {"long_name": "NDWI (B8A, B12)"}),
        "NBR2": (("y", "x"), nbr2, {"long_name": "NBR2 (B11, B12)"}),
        "EVI": (("y", "x"), indices.evi(out["B08"], out["B04"], out["B02"]), {"long_name": "EVI (B08, B04, B02)"}),
        "bare": (("y", "x"), (indices.bare_soil_mask(ndvi, nbr2, out["B02"], out["B03"], out["B04"]) & valid).astype(np.uint8),
                 {"long_name": "bare soil (Tziolas 2020 rule)"}),
        "valid": (("y", "x"), valid.astype(np.uint8), {"long_name": "clear observation (not cloud, shadow, snow or no data)"}),
    })
    return xr.Dataset(
        data_vars, coords={"y": grid.y_coords(), "x": grid.x_coords()},
        attrs={"product": os.path.basename(product.root).removesuffix(".SAFE"), "sensing_time": product.sensing_time,
               "baseline": product.baseline, "tile": product.tile, "crs": grid.crs,
               "transform": list(grid.transform)[:6], "valid_fraction": float(valid.mean()),
               "cloud_prob_max": cloud_prob_max, "snow_prob_max": snow_prob_max,
               "scl_invalid": list(scl_invalid), "resampling": resampling},
    )


def _listed(product: Product, name: str) -> bool:
    """Whether a quality mask is really part of the product (zip member or file)."""
    path = product.mask_files[name]
    if product.members is not None:
        return path.split(".zip/", 1)[-1] in product.members
    return os.path.exists(path)
