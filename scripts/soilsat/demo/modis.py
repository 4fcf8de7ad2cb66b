"""The demo world's MODIS products (MCD12Q2, MOD09GA) as HDF4-EOS grid files cropped to each region.

Each file holds the block of the MODIS sinusoidal pixel lattice that covers the region's study grid, as a
spatial subset of the tile keeps its HDF-EOS structure: StructMetadata.0 with the block's corners, the
fields as SDS of the block's size in a GRID vgroup, CoreMetadata.0 with the short name, version, period
and tile. soilsat.nasa.mcd12q2 and .mod09ga read them as they read whole tiles.

- Vegetation cover: every year a parcel follows the demo world's phenology of its land-cover class
  (soilsat.demo.world.parcel_phenology, drawn anew per year), and a MODIS pixel's cover is the mean over
  the study pixels whose centres fall in it. EVI2 = EVI2_SOIL + EVI2_GAIN x cover.
- MCD12Q2 (source mcd12q2), one file per region and year: the metrics of the year's EVI2 curve, as the
  product defines them (Greenup, MidGreenup and Maturity where EVI2 first crosses 15, 50 and 90 % of the
  amplitude before the peak, Senescence, MidGreendown and Dormancy where it last does after it, EVI2
  minimum, amplitude and its sum from greenup to dormancy) in cycle 1 of pixels whose amplitude reaches
  CYCLE_MIN_AMPLITUDE (NumCycles 1); cycle 2 and pixels without a cycle are fill.
- MOD09GA (source mod09ga), one file per region and day: red, NIR and blue reflectance of the cover
  mixed between VEGETATION and SOIL (water pixels: WATER), and on cloudy 1 km cells (a smooth random
  field above the day's `cloud_fraction` quantile) CLOUD reflectance with cloud state 01 and the internal
  cloud flag in state_1km_1.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyhdf.V  # noqa: F401  (HDF.vgstart needs the V interface loaded)
from pyhdf.HDF import HC, HDF
from pyhdf.SD import SD, SDC
from scipy import ndimage

from soilsat.demo.index_entry import index_entry
from soilsat.demo.world import RegionWorld, parcel_phenology
from soilsat.extract.phenology import DATE_FIELDS, cycle_metrics
from soilsat.io import atomic_path
from soilsat.nasa import sinusoidal

SOURCES = {"MCD12Q2": "mcd12q2", "MOD09GA": "mod09ga"}
VERSION = "061"
EVI2_SOIL, EVI2_GAIN = 0.08, 0.62
CYCLE_MIN_AMPLITUDE = 0.1
VEGETATION = {"red": 0.04, "nir": 0.42, "blue": 0.03}
SOIL = {"red": 0.20, "nir": 0.28, "blue": 0.12}
WATER = {"red": 0.03, "nir": 0.02, "blue": 0.05}
CLOUD = {"red": 0.62, "nir": 0.64, "blue": 0.66}
REFLECTANCE_NOISE = 0.005
CLOUD_SCALE_PX = 2.0  # correlation length of the cloud field, 1 km cells
LAND_FLAG = 1 << 3  # state_1km bits 3-5: 001 land
CLOUDY_STATE = 0b01 | (1 << 10)  # cloud state 01 (cloudy) and the internal cloud algorithm flag
DATE_FILL = 32767
SURF_REFL_FILL = -28672
EPOCH = pd.Timestamp("1970-01-01")
SDC_OF = {
    np.dtype("int8"): SDC.INT8,
    np.dtype("int16"): SDC.INT16,
    np.dtype("uint16"): SDC.UINT16,
    np.dtype("int32"): SDC.INT32,
    np.dtype("uint8"): SDC.UINT8,
}
DFNT_OF = {
    np.dtype("int8"): "DFNT_INT8",
    np.dtype("int16"): "DFNT_INT16",
    np.dtype("uint16"): "DFNT_UINT16",
    np.dtype("int32"): "DFNT_INT32",
    np.dtype("uint8"): "DFNT_UINT8",
}


@dataclasses.dataclass(frozen=True)
class ModisLayout:
    """The block of MODIS pixels over a region: corner, size, pixel size and each study pixel's block cell."""

    x0: float
    y0: float
    width: int
    height: int
    pixel_m: float
    labels: np.ndarray

    @property
    def corners(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Upper-left and lower-right corners in projected metres."""
        return (self.x0, self.y0), (self.x0 + self.width * self.pixel_m, self.y0 - self.height * self.pixel_m)

    @property
    def tile(self) -> str:
        """The tile of the block's centre."""
        return sinusoidal.tile_name(
            *sinusoidal.tile_of_xy(self.x0 + self.width * self.pixel_m / 2, self.y0 - self.height * self.pixel_m / 2)
        )


@dataclasses.dataclass(frozen=True)
class Field:
    """One field (SDS) of a grid: name, values, fill value and attributes (scale as MODIS stores it)."""

    name: str
    values: np.ndarray
    fill: int
    attrs: dict
    dims: tuple[str, ...] = ("YDim", "XDim")


def modis_layout(
    region: RegionWorld, pixels_per_tile: int, bounds: tuple[float, float, float, float] | None = None
) -> ModisLayout:
    """The block of the lattice of `pixels_per_tile` pixels a tile (2400: 500 m, 1200: 1 km) over the region's
    pixel centres, or over projected `bounds` (left, bottom, right, top) when given."""
    lon, lat = region.grid.lonlat()
    x, y = sinusoidal.lonlat_to_xy(lon.ravel(), lat.ravel())
    size = sinusoidal.TILE_M / pixels_per_tile
    x0, y0, width, height = sinusoidal.pixel_window(bounds or (x.min(), y.min(), x.max(), y.max()), pixels_per_tile)
    cols = np.floor((x - x0) / size).astype(np.int64)
    rows = np.floor((y0 - y) / size).astype(np.int64)
    return ModisLayout(x0, y0, width, height, size, rows * width + cols)


def parcel_weights(region: RegionWorld, layout: ModisLayout) -> np.ndarray:
    """(cell, parcel) share of each MODIS cell's study pixels that lie in each parcel (rows of empty cells are 0)."""
    n_parcels = region.truth.sizes["parcel_id"]
    n = layout.width * layout.height
    counts = (
        np.bincount(layout.labels * n_parcels + region.truth["parcel"].values.ravel(), minlength=n * n_parcels)
        .reshape(n, n_parcels)
        .astype(np.float64)
    )
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


def yearly_cover(region: RegionWorld, year: int, seed: int, weights: np.ndarray) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The year's days and each MODIS cell's daily vegetation cover (day, cell), from a phenology drawn for the year."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    rng = np.random.default_rng([seed, 2022, year, sum(map(ord, region.spec.name))])
    fcover, _ = parcel_phenology(rng, days, region.truth["parcel_class"].values)
    return days, fcover.astype(np.float64) @ weights.T


def phenology_metrics(days: pd.DatetimeIndex, evi2: np.ndarray) -> dict[str, np.ndarray]:
    """MCD12Q2 cycle-1 metrics of daily EVI2 curves (day, cell): dates in days since 1970-01-01, EVI2 minimum,
    amplitude and area (float), and NumCycles; NaN where a cell has no cycle."""
    metrics = cycle_metrics(evi2, CYCLE_MIN_AMPLITUDE)
    first_day = (days[0] - EPOCH).days
    return metrics | {name: first_day + metrics[name] for name in DATE_FIELDS}


def _stored(values: np.ndarray, factor: float, dtype: str, fill: int) -> np.ndarray:
    """Values divided by the product's scale factor and rounded into its integer type, NaN as fill."""
    return np.where(np.isfinite(values), np.round(np.nan_to_num(values) / factor), fill).astype(dtype)


def _odl(name: str, value: str, indent: int) -> str:
    pad = "  " * indent
    return (
        f"{pad}OBJECT                 = {name}\n{pad}  NUM_VAL              = 1\n"
        f"{pad}  VALUE                = {value}\n{pad}END_OBJECT             = {name}\n"
    )


def core_metadata(
    short_name: str, granule: str, start: pd.Timestamp, end: pd.Timestamp, tile: str, platform: str
) -> str:
    """The ECS inventory metadata (CoreMetadata.0) of a granule, in ODL."""
    h, v = sinusoidal.parse_tile(tile)
    text = "\nGROUP                  = INVENTORYMETADATA\n  GROUPTYPE            = MASTERGROUP\n\n"
    text += "  GROUP                  = ECSDATAGRANULE\n"
    text += _odl("LOCALGRANULEID", f'"{granule}"', 2) + _odl("DAYNIGHTFLAG", '"Day"', 2)
    text += _odl("LOCALVERSIONID", '"6.1.0"', 2) + "  END_GROUP              = ECSDATAGRANULE\n\n"
    text += "  GROUP                  = COLLECTIONDESCRIPTIONCLASS\n"
    text += _odl("SHORTNAME", f'"{short_name}"', 2) + _odl("VERSIONID", str(int(VERSION)), 2)
    text += "  END_GROUP              = COLLECTIONDESCRIPTIONCLASS\n\n  GROUP                  = RANGEDATETIME\n"
    text += _odl("RANGEBEGINNINGTIME", '"00:00:00"', 2) + _odl("RANGEENDINGTIME", '"23:59:59"', 2)
    text += _odl("RANGEBEGINNINGDATE", f'"{start:%Y-%m-%d}"', 2) + _odl("RANGEENDINGDATE", f'"{end:%Y-%m-%d}"', 2)
    text += "  END_GROUP              = RANGEDATETIME\n\n"
    text += "  GROUP                  = ASSOCIATEDPLATFORMINSTRUMENTSENSOR\n"
    text += _odl("ASSOCIATEDPLATFORMSHORTNAME", f'"{platform}"', 2)
    text += _odl("ASSOCIATEDINSTRUMENTSHORTNAME", '"MODIS"', 2)
    text += "  END_GROUP              = ASSOCIATEDPLATFORMINSTRUMENTSENSOR\n\n"
    text += "  GROUP                  = ADDITIONALATTRIBUTES\n"
    for i, (name, value) in enumerate((("HORIZONTALTILENUMBER", h), ("VERTICALTILENUMBER", v)), start=1):
        text += (
            f'    OBJECT                 = ADDITIONALATTRIBUTESCONTAINER\n      CLASS                = "{i}"\n'
            + _odl("ADDITIONALATTRIBUTENAME", f'"{name}"', 3)
            + _odl("PARAMETERVALUE", f'"{value:02d}"', 3)
            + "    END_OBJECT             = ADDITIONALATTRIBUTESCONTAINER\n"
        )
    text += "  END_GROUP              = ADDITIONALATTRIBUTES\n\n"
    return text + "END_GROUP              = INVENTORYMETADATA\n\nEND\n"


def struct_metadata(grids: list[tuple[str, ModisLayout, list[Field]]]) -> str:
    """The HDF-EOS StructMetadata.0 of sinusoidal grids, in ODL."""
    text = "GROUP=SwathStructure\nEND_GROUP=SwathStructure\nGROUP=GridStructure\n"
    for i, (name, layout, fields) in enumerate(grids, start=1):
        (ulx, uly), (lrx, lry) = layout.corners
        text += (
            f'\tGROUP=GRID_{i}\n\t\tGridName="{name}"\n\t\tXDim={layout.width}\n\t\tYDim={layout.height}\n'
            f"\t\tUpperLeftPointMtrs=({ulx:.6f},{uly:.6f})\n\t\tLowerRightMtrs=({lrx:.6f},{lry:.6f})\n"
            "\t\tProjection=GCTP_SNSOID\n"
            f"\t\tProjParams=({sinusoidal.SPHERE_RADIUS:.6f},0,0,0,0,0,0,0,0,0,0,0,0)\n\t\tSphereCode=-1\n"
            "\t\tGridOrigin=HDFE_GD_UL\n\t\tGROUP=Dimension\n"
        )
        extra = sorted({d for f in fields for d in f.dims} - {"YDim", "XDim"})
        for j, dim in enumerate(extra, start=1):
            size = next(f.values.shape[f.dims.index(dim)] for f in fields if dim in f.dims)
            text += (
                f'\t\t\tOBJECT=Dimension_{j}\n\t\t\t\tDimensionName="{dim}"\n\t\t\t\tSize={size}\n'
                f"\t\t\tEND_OBJECT=Dimension_{j}\n"
            )
        text += "\t\tEND_GROUP=Dimension\n\t\tGROUP=DataField\n"
        for j, field in enumerate(fields, start=1):
            dims = ",".join(f'"{d}"' for d in field.dims)
            text += (
                f'\t\t\tOBJECT=DataField_{j}\n\t\t\t\tDataFieldName="{field.name}"\n'
                f"\t\t\t\tDataType={DFNT_OF[field.values.dtype]}\n\t\t\t\tDimList=({dims})\n"
                f"\t\t\tEND_OBJECT=DataField_{j}\n"
            )
        text += f"\t\tEND_GROUP=DataField\n\t\tGROUP=MergedFields\n\t\tEND_GROUP=MergedFields\n\tEND_GROUP=GRID_{i}\n"
    return text + "END_GROUP=GridStructure\nGROUP=PointStructure\nEND_GROUP=PointStructure\nEND\n"


def write_hdfeos(path: Path, grids: list[tuple[str, ModisLayout, list[Field]]], core: str) -> None:
    """An HDF4-EOS file of sinusoidal grids: SDS per field, GRID vgroups holding them, the ODL metadata."""
    sd = SD(str(path), SDC.WRITE | SDC.CREATE)
    refs: dict[str, list[int]] = {}
    for grid_name, _, fields in grids:
        for field in fields:
            sds = sd.create(field.name, SDC_OF[field.values.dtype], list(field.values.shape))
            for i, dim in enumerate(field.dims):
                sds.dim(i).setname(f"{dim}:{grid_name}")
            for key, value in field.attrs.items():
                setattr(sds, key, value)
            sds.setfillvalue(field.fill)
            sds[:] = field.values
            refs.setdefault(grid_name, []).append(sds.ref())
            sds.endaccess()
    for key, value in (
        ("HDFEOSVersion", "HDFEOS_V2.19"),
        ("StructMetadata.0", struct_metadata(grids)),
        ("CoreMetadata.0", core),
    ):
        sd.attr(key).set(SDC.CHAR8, value)
    sd.end()
    hdf = HDF(str(path), HC.WRITE)
    v = hdf.vgstart()
    for grid_name, grid_refs in refs.items():
        grid_vg, fields_vg, attrs_vg = v.create(grid_name), v.create("Data Fields"), v.create("Grid Attributes")
        grid_vg._class, fields_vg._class, attrs_vg._class = "GRID", "GRID Vgroup", "GRID Vgroup"
        for ref in grid_refs:
            fields_vg.add(HC.DFTAG_NDG, ref)
        grid_vg.insert(fields_vg)
        grid_vg.insert(attrs_vg)
        for vg in (attrs_vg, fields_vg, grid_vg):
            vg.detach()
    v.end()
    hdf.close()


def mcd12q2_fields(metrics: dict[str, np.ndarray], shape: tuple[int, int]) -> list[Field]:
    """The MCD12Q2 fields of cycle-1 metrics (cycle 2 fill), in the product's types, scales and fill values."""
    fields = [
        Field(
            "NumCycles",
            _stored(metrics["NumCycles"], 1.0, "int16", DATE_FILL).reshape(shape),
            DATE_FILL,
            {"long_name": "NumCycles", "units": "none", "valid_range": [0, 7]},
        )
    ]

    def two_cycles(values: np.ndarray) -> np.ndarray:
        return np.stack([values.reshape(shape), np.full(shape, DATE_FILL, dtype=values.dtype)])

    for name in DATE_FIELDS:
        fields.append(
            Field(
                name,
                two_cycles(_stored(metrics[name], 1.0, "int16", DATE_FILL)),
                DATE_FILL,
                {"long_name": name, "units": "days since 1-1-1970", "valid_range": [11138, 32766]},
                ("Num_Modes", "YDim", "XDim"),
            )
        )
    for name, factor, high in (("EVI_Minimum", 1e-4, 10000), ("EVI_Amplitude", 1e-4, 10000), ("EVI_Area", 0.1, 3700)):
        fields.append(
            Field(
                name,
                two_cycles(_stored(metrics[name], factor, "int16", DATE_FILL)),
                DATE_FILL,
                {"long_name": name, "units": "EVI2", "valid_range": [0, high], "scale_factor": factor},
                ("Num_Modes", "YDim", "XDim"),
            )
        )
    quality = np.where(np.isfinite(metrics["Greenup"]), 0.0, np.nan)
    fields.append(
        Field(
            "QA_Overall",
            two_cycles(_stored(quality, 1.0, "int16", DATE_FILL)),
            DATE_FILL,
            {"long_name": "QA_Overall", "units": "none", "valid_range": [0, 3]},
            ("Num_Modes", "YDim", "XDim"),
        )
    )
    fields.append(
        Field(
            "QA_Detailed",
            two_cycles(_stored(quality, 1.0, "int16", DATE_FILL)),
            DATE_FILL,
            {"long_name": "QA_Detailed", "units": "bit field", "valid_range": [0, 16383]},
            ("Num_Modes", "YDim", "XDim"),
        )
    )
    return fields


def write_mcd12q2(world: list[RegionWorld], years: list[int], dir: Path, seed: int) -> list[dict]:
    """One MCD12Q2 file per region and year under dir/modis/MCD12Q2; returns their index entries."""
    dir = Path(dir)
    entries = []
    for region in world:
        layout = modis_layout(region, 2400)
        weights = parcel_weights(region, layout)
        has = weights.sum(axis=1) > 0
        for year in years:
            days, cover = yearly_cover(region, year, seed, weights)
            metrics = phenology_metrics(days, EVI2_SOIL + EVI2_GAIN * cover)
            metrics = {k: np.where(has, v, np.nan) for k, v in metrics.items()}
            fields = mcd12q2_fields(metrics, (layout.height, layout.width))
            name = f"MCD12Q2.A{year}001.{layout.tile}.{VERSION}.{year + 1}032120000"
            path = dir / "modis" / "MCD12Q2" / f"{name}_{region.spec.name}.hdf"
            start, end = pd.Timestamp(f"{year}-01-01"), pd.Timestamp(f"{year}-12-31")
            with atomic_path(path) as tmp:
                write_hdfeos(
                    tmp,
                    [("MCD12Q2", layout, fields)],
                    core_metadata("MCD12Q2", f"{name}.hdf", start, end, layout.tile, "Terra"),
                )
            entries.append(
                index_entry(
                    SOURCES["MCD12Q2"],
                    path,
                    dir,
                    region.spec.name,
                    "MCD12Q2",
                    start,
                    end + pd.Timedelta(hours=23, minutes=59, seconds=59),
                )
            )
    return entries


def mod09ga_fields(
    cover: np.ndarray, water: np.ndarray, cloudy_fine: np.ndarray, has: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Stored red, NIR and blue reflectance (x 10000, int16) of 500 m cells from cover, water share and clouds."""
    out = {}
    for band, field in (("red", "sur_refl_b01_1"), ("nir", "sur_refl_b02_1"), ("blue", "sur_refl_b03_1")):
        land = VEGETATION[band] * cover + SOIL[band] * (1.0 - cover)
        value = (1.0 - water) * land + water * WATER[band] + rng.normal(0.0, REFLECTANCE_NOISE, cover.shape)
        value = np.where(cloudy_fine, CLOUD[band], value)
        out[field] = _stored(np.where(has, value, np.nan), 1e-4, "int16", SURF_REFL_FILL)
    return out


def write_mod09ga(
    world: list[RegionWorld], days: list[pd.Timestamp], dir: Path, seed: int, cloud_fraction: float
) -> list[dict]:
    """One MOD09GA file per region and day under dir/modis/MOD09GA; returns their index entries."""
    dir = Path(dir)
    entries = []
    for index, region in enumerate(world):
        fine = modis_layout(region, 2400)
        (left, top), (right, bottom) = fine.corners
        coarse = modis_layout(region, 1200, (left, bottom, right, top))  # the state QA covers every 500 m pixel
        weights = parcel_weights(region, fine)
        has = weights.sum(axis=1) > 0
        water = weights @ (region.truth["parcel_class"].values == 512).astype(np.float64)
        fine_x = fine.x0 + (np.arange(fine.width) + 0.5) * fine.pixel_m
        fine_y = fine.y0 - (np.arange(fine.height) + 0.5) * fine.pixel_m
        coarse_col = np.floor((fine_x - coarse.x0) / coarse.pixel_m).astype(np.int64)
        coarse_row = np.floor((coarse.y0 - fine_y) / coarse.pixel_m).astype(np.int64)
        covers: dict[int, tuple[pd.DatetimeIndex, np.ndarray]] = {}
        rng = np.random.default_rng([seed, 9, index])
        for day in sorted(pd.Timestamp(d) for d in days):
            if day.year not in covers:
                covers[day.year] = yearly_cover(region, day.year, seed, weights)
            year_days, cover = covers[day.year]
            field = ndimage.gaussian_filter(rng.standard_normal((coarse.height, coarse.width)), CLOUD_SCALE_PX)
            cloudy = field > np.quantile(field, 1.0 - cloud_fraction) if cloud_fraction > 0 else field < -np.inf
            state = np.where(cloudy, CLOUDY_STATE | LAND_FLAG, LAND_FLAG).astype(np.uint16)
            cloudy_fine = cloudy[np.ix_(coarse_row, coarse_col)].ravel()
            bands = mod09ga_fields(cover[year_days.get_loc(day)], water, cloudy_fine, has, rng)
            shape = (fine.height, fine.width)
            refl = [
                Field(
                    name,
                    values.reshape(shape),
                    SURF_REFL_FILL,
                    {
                        "long_name": f"500m Surface Reflectance Band {name[10]}",
                        "units": "reflectance",
                        "valid_range": [-100, 16000],
                        "scale_factor": 1e-4,
                    },
                )
                for name, values in bands.items()
            ]
            qa = [
                Field(
                    "state_1km_1",
                    state,
                    65535,
                    {"long_name": "1km Reflectance Data State QA", "units": "bit field", "valid_range": [0, 57343]},
                )
            ]
            name = f"MOD09GA.A{day:%Y%j}.{fine.tile}.{VERSION}.{day + pd.Timedelta(days=2):%Y%j}031500"
            path = dir / "modis" / "MOD09GA" / f"{name}_{region.spec.name}.hdf"
            with atomic_path(path) as tmp:
                write_hdfeos(
                    tmp,
                    [("MODIS_Grid_1km_2D", coarse, qa), ("MODIS_Grid_500m_2D", fine, refl)],
                    core_metadata("MOD09GA", f"{name}.hdf", day, day, fine.tile, "Terra"),
                )
            entries.append(
                index_entry(
                    SOURCES["MOD09GA"],
                    path,
                    dir,
                    region.spec.name,
                    "MOD09GA",
                    day,
                    day + pd.Timedelta(hours=23, minutes=59, seconds=59),
                )
            )
    return entries
