"""The demo world's SMAP products in their genuine HDF5 layouts, cropped to each region as a subset would be.

- SPL1CTB_E (source smap_l1c_tb): one file per region and half-orbit pass over it, the 9 km (M09) cells
  holding the region's pixels listed one by one in Global_Projection: H and V brightness temperatures of
  the fore and aft looks (the demo radiometer's tau-omega model on the truth, averaged over the cell's
  pixels, plus RADIOMETER_NOISE_K of noise per look), quality flags, times, incidence.
- SPL2SMP_E (smap_l2_sm): one file per region and half-orbit pass over it, the region's M09 cells listed one by
  one in Soil_Moisture_Retrieval_Data as the real product lists them: the cell's truth soil moisture plus
  RETRIEVAL_BIAS and RETRIEVAL_SD of noise, its error estimate, the brightness temperatures it used, quality
  flags, time, EASE indices and centres (Tsagkatakis' 9 km target).
- SPL3SMP_E (smap_l3_sm): one file per region and day, the M09 window over the region in the AM and PM
  groups: the cell's truth soil moisture plus RETRIEVAL_BIAS and RETRIEVAL_SD of noise on the days of
  each pass, -9999 elsewhere, with the brightness temperatures, flags, times and EASE indices.
- SPL2SMAP_S (smap_l2_sm_sp): one file per region and Sentinel-1 pass day with a SMAP pass, the M01 and
  M03 windows over the region: soil moisture (truth cell mean plus ACTIVE_PASSIVE_SD of noise), the
  Sentinel-1 sigma0 VV/VH aggregated to the cell (linear, the demo's water-cloud model) and its incidence,
  for the AM pass (plain names) and the PM pass (_apm names).

A cell's truth is the mean of the study-grid pixels whose centres fall in it. SMAP passes a region at
6 AM (descending) and 6 PM (ascending) local solar time on two days of every three (REVISIT_DAYS). To keep the
archive small, the half-orbit products can be written only on the region's Sentinel-1 days, the days the
Tsagkatakis patches read.
Every file carries the /Metadata groups the readers take the identity from; soilsat.nasa reads them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from soilsat.demo.backscatter import water_cloud, water_sigma0
from soilsat.demo.index_entry import index_entry
from soilsat.demo.radiometer import brightness_temperatures
from soilsat.demo.reference_products import cell_means
from soilsat.demo.world import RegionWorld, WorldSpec, sentinel1_schedule
from soilsat.io import atomic_path
from soilsat.nasa import ease2
from soilsat.nasa.smap_time import to_seconds

SOURCES = {
    "SPL1CTB_E": "smap_l1c_tb",
    "SPL2SMP_E": "smap_l2_sm",
    "SPL3SMP_E": "smap_l3_sm",
    "SPL2SMAP_S": "smap_l2_sm_sp",
}
VERSIONS = {"SPL1CTB_E": "006", "SPL2SMP_E": "006", "SPL3SMP_E": "006", "SPL2SMAP_S": "003"}
CRID = "R19240"
RADIOMETER_NOISE_K = 1.0
RETRIEVAL_BIAS = -0.02  # m3 m-3: the radiometer reads drier than probes at 5 cm
RETRIEVAL_SD = 0.03
ACTIVE_PASSIVE_SD = 0.05  # the 1 km active-passive retrieval is noisier than the 9 km radiometer one
SIGMA0_INCIDENCE_DEG = 39.0
REVISIT_DAYS = 3
PACK_MIN_VALUES = 4096
LOCAL_HOUR = {"AM": 6.0, "PM": 18.0}
DIRECTION = {"AM": "Descending", "PM": "Ascending"}
# Half-orbit (rev) numbering anchored on a real granule: rev 2801 crossed the equator at 2015-08-11T01:56:40.212Z.
REV_ANCHOR = (2801, pd.Timestamp("2015-08-11T01:56:40.212"))
ORBIT_PERIOD_S = 5907.909
FLOAT_FILL = -9999.0
UINT16_FILL = 65534
TB_FLAG_MEANINGS = (
    "quality range RFI_detection RFI_correction NEDT direct_sun_correction reflected_sun_correction "
    "reflected_moon_correction direct_galaxy_correction reflected_galaxy_correction "
    "atmosphere_correction Faraday_rotation_correction null_value_bit water_correction RFI_check "
    "RFI_clean"
)
RETRIEVAL_FLAG_MEANINGS = (
    "Retrieval_recommended_flag Retrieval_attempted_flag Retrieval_success_flag "
    "Radar_water_body_detection_success_flag Freeze-thaw_retrieval_success_flag"
)


@dataclasses.dataclass(frozen=True)
class CellLayout:
    """The cells of one EASE-Grid 2.0 grid over a region: their window and each study pixel's cell."""

    grid: ease2.Ease2Grid
    row0: int
    col0: int
    shape: tuple[int, int]
    labels: np.ndarray  # flat study pixel -> flat window cell

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def rows_cols(self) -> tuple[np.ndarray, np.ndarray]:
        """Global row and column of every window cell, flattened."""
        rows, cols = np.mgrid[0 : self.shape[0], 0 : self.shape[1]]
        return (rows + self.row0).ravel(), (cols + self.col0).ravel()


def cell_layout(region: RegionWorld, grid: ease2.Ease2Grid, stride: int = 1) -> CellLayout:
    """The window of the grid's cells that hold the region's study pixels (every `stride`-th in each direction)."""
    lon, lat = (a[::stride, ::stride] for a in region.grid.lonlat())
    rows, cols = ease2.lonlat_to_rowcol(grid, lon.ravel(), lat.ravel())
    row0, col0 = int(rows.min()), int(cols.min())
    shape = (int(rows.max()) - row0 + 1, int(cols.max()) - col0 + 1)
    return CellLayout(grid, row0, col0, shape, (rows - row0) * shape[1] + (cols - col0))


def pass_days(days: pd.DatetimeIndex, overpass: str, region_index: int) -> pd.DatetimeIndex:
    """The days SMAP passes a region at 6 AM or 6 PM: two of every REVISIT_DAYS days, staggered by pass."""
    offset = region_index + (1 if overpass == "PM" else 0)
    index = np.arange(len(days))
    return days[(index + offset) % REVISIT_DAYS != REVISIT_DAYS - 1]


def pass_time(day: pd.Timestamp, overpass: str, lon: float) -> pd.Timestamp:
    """UTC time of a pass at 6 AM or 6 PM local solar time at a longitude."""
    return (pd.Timestamp(day).normalize() + pd.Timedelta(hours=LOCAL_HOUR[overpass] - lon / 15.0)).round("s")


def half_orbit(when: pd.Timestamp) -> int:
    """The SMAP half-orbit (rev) number at a time."""
    rev, anchor = REV_ANCHOR
    return rev + int(np.floor((pd.Timestamp(when) - anchor).total_seconds() / ORBIT_PERIOD_S))


def pixel_fields(region: RegionWorld, day: pd.Timestamp, radar: bool = False, stride: int = 1) -> dict[str, np.ndarray]:
    """Truth soil moisture, cover and tau-omega brightness temperatures of every pixel (every `stride`-th in each
    direction), with `radar` also the Sentinel-1 sigma0 VV and VH (linear, the demo's water-cloud model)."""
    truth = region.truth
    i = pd.DatetimeIndex(truth["time"].values).get_loc(pd.Timestamp(day).normalize())
    sm = truth["sm"].values[i, ::stride, ::stride].astype(np.float64)
    parcel = truth["parcel"].values[::stride, ::stride]
    fcover = truth["parcel_fcover"].values[i][parcel].astype(np.float64)
    tb_h, tb_v = brightness_temperatures(sm, float(truth["tmean"].values[i]) + 273.15, fcover)
    fields = {"sm": sm, "fcover": fcover, "tb_h": tb_h, "tb_v": tb_v}
    if radar:
        water = truth["landcover"].values[::stride, ::stride] == 512
        incidence = np.full(sm.shape, SIGMA0_INCIDENCE_DEG)
        for pol in ("VV", "VH"):
            land = water_cloud(sm, fcover, incidence, pol)
            fields[f"sigma0_{pol.lower()}"] = np.where(water, water_sigma0(pol), land)
    return fields


def cell_fields(fields: dict[str, np.ndarray], layout: CellLayout) -> dict[str, np.ndarray]:
    """pixel_fields averaged over each cell of the layout (flat, NaN for cells without pixels)."""
    stacked = np.stack([fields[k] for k in fields])
    means = cell_means(stacked, layout.labels, layout.size)
    return dict(zip(fields, means))


def _text(value: str) -> np.bytes_:
    """A fixed-length ASCII attribute, as SMAP writes the attributes of its datasets."""
    return np.bytes_(value.encode())


def _dataset(
    group: h5py.Group,
    name: str,
    values: np.ndarray,
    fill: float | int | None,
    units: str | None,
    long_name: str,
    valid: tuple | None = None,
    flags: str | None = None,
    coordinates: str | None = None,
) -> None:
    """One gzip-compressed dataset with SMAP's attributes (_FillValue, valid_min/max, flag_masks/meanings)."""
    values = np.asarray(values)
    # SMAP chunks and gzips every array; the demo's arrays of a few cells stay contiguous, where a chunk index
    # would outweigh the data many times over.
    packed = values.size >= PACK_MIN_VALUES
    ds = group.create_dataset(
        name, data=values, chunks=values.shape if packed else None, compression="gzip" if packed else None
    )
    ds.attrs["long_name"] = _text(long_name)
    if coordinates:
        ds.attrs["coordinates"] = _text(coordinates)
    if units:
        ds.attrs["units"] = _text(units)
    if fill is not None:
        ds.attrs["_FillValue"] = np.asarray(fill, dtype=values.dtype)
    if valid is not None:
        ds.attrs["valid_min"] = np.asarray(valid[0], dtype=values.dtype)
        ds.attrs["valid_max"] = np.asarray(valid[1], dtype=values.dtype)
    if flags is not None:
        meanings = flags.split()
        ds.attrs["flag_masks"] = _text(", ".join(f"{1 << i}s" for i in range(len(meanings))))
        ds.attrs["flag_meanings"] = _text(flags)


def _float(values: np.ndarray) -> np.ndarray:
    """float32 with NaN as the fill value -9999."""
    return np.where(np.isfinite(values), values, FLOAT_FILL).astype(np.float32)


def _metadata(
    f: h5py.File,
    short_name: str,
    file_name: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    resolution_km: float,
    cells: int,
    direction: str | None = None,
) -> None:
    """The ISO metadata groups every SMAP product carries (identity, extent, grid and, per half-orbit, the orbit)."""
    stamp = "%Y-%m-%dT%H:%M:%S.000Z"
    ident = f.create_group("Metadata/DatasetIdentification")
    for key, value in {
        "shortName": short_name,
        "ECSVersionID": VERSIONS[short_name],
        "CompositeReleaseID": CRID,
        "fileName": file_name,
        "format": "HDF5",
        "originatorOrganizationName": "soilsat demo world",
        "creationDate": f"{pd.Timestamp.now():%Y-%m-%d}",
    }.items():
        ident.attrs[key] = value
    extent = f.create_group("Metadata/Extent")
    extent.attrs["rangeBeginningDateTime"] = f"{start:{stamp}}"
    extent.attrs["rangeEndingDateTime"] = f"{end:{stamp}}"
    series = f.create_group("Metadata/SeriesIdentification")
    series.attrs["shortName"] = short_name
    series.attrs["ECSVersionID"] = VERSIONS[short_name]
    series.attrs["CompositeReleaseID"] = CRID[:3]
    grid = f.create_group("Metadata/GridSpatialRepresentation")
    grid.attrs["resolution"] = np.float32(resolution_km)
    grid.attrs["dimensionSize"] = np.uint32(cells)
    grid.attrs["georeferencedParameters"] = "EASE-Grid 2.0 (global), SMAP Science Document no: 033"
    if direction:
        orbit = f.create_group("Metadata/OrbitMeasuredLocation")
        orbit.attrs["orbitDirection"] = direction
        orbit.attrs["halfOrbitStartDateTime"] = f"{start:{stamp}}"
        orbit.attrs["halfOrbitStopDateTime"] = f"{end:{stamp}}"
        orbit.attrs["revNumber"] = np.int32(half_orbit(start))


def _qual_flags(good: np.ndarray) -> np.ndarray:
    """uint16 flags: 0 where good, bit 0 (quality) where not, the fill value where there is no value."""
    return np.where(np.isnan(good), UINT16_FILL, np.where(good > 0, 0, 1)).astype(np.uint16)


def half_orbit_cells(
    region: RegionWorld,
    day: pd.Timestamp,
    overpass: str,
    layout: CellLayout,
    fields: dict[str, np.ndarray],
    product: str,
    dir: Path,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, pd.Timestamp, Path]:
    """The cells of a half-orbit file (mask, rows, columns, lon, lat), its pass time and its path, named as NSIDC
    names `SMAP_<product>_<half orbit>_<A|D>_<start>_<CRID>_001` with the region's name after it."""
    has = np.isfinite(fields["sm"])
    rows, cols = (a[has] for a in layout.rows_cols())
    lon, lat = ease2.rowcol_to_lonlat(layout.grid, rows, cols)
    when = pass_time(day, overpass, float(np.mean(lon)))
    name = f"SMAP_{product}_{half_orbit(when):05d}_{overpass_letter(overpass)}_{when:%Y%m%dT%H%M%S}_{CRID}_001"
    return has, rows, cols, lon, lat, when, Path(dir) / f"{name}_{region.spec.name}.h5"


def write_l1c(
    region: RegionWorld,
    day: pd.Timestamp,
    overpass: str,
    layout: CellLayout,
    fields: dict[str, np.ndarray],
    dir: Path,
    rng: np.random.Generator,
) -> Path:
    """One SPL1CTB_E half-orbit file of the region's M09 cells (`fields`: cell_fields on the M09 layout)."""
    has, rows, cols, lon, lat, when, path = half_orbit_cells(region, day, overpass, layout, fields, "L1C_TB_E", dir)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        g = f.create_group("Global_Projection")
        coordinates = "/Global_Projection/cell_lat /Global_Projection/cell_lon"
        _dataset(g, "cell_row", rows.astype(np.uint16), UINT16_FILL, None, "EASE grid row of the cell", (0, 1623))
        _dataset(g, "cell_column", cols.astype(np.uint16), UINT16_FILL, None, "EASE grid column of the cell", (0, 3855))
        _dataset(g, "cell_lat", lat.astype(np.float32), FLOAT_FILL, "degrees_north", "Latitude of the cell centre")
        _dataset(g, "cell_lon", lon.astype(np.float32), FLOAT_FILL, "degrees_east", "Longitude of the cell centre")
        for look, offset_s in (("fore", -60.0), ("aft", 60.0)):
            seconds = np.full(rows.shape, to_seconds(when + pd.Timedelta(seconds=offset_s)))
            _dataset(
                g,
                f"cell_tb_time_seconds_{look}",
                seconds,
                FLOAT_FILL,
                "seconds",
                f"Mean time of the {look} look, seconds since noon on January 1, 2000 UTC",
                (-999999.9, 940000000.0),
                coordinates=coordinates,
            )
            _dataset(
                g,
                f"cell_boresight_incidence_{look}",
                np.full(rows.shape, 40.0, dtype=np.float32),
                FLOAT_FILL,
                "degrees",
                f"Boresight incidence angle of the {look} look",
                (0.0, 90.0),
                coordinates=coordinates,
            )
            for pol in ("h", "v"):
                tb = fields[f"tb_{pol}"][has] + rng.normal(0.0, RADIOMETER_NOISE_K, rows.shape)
                long_pol = "Horizontal" if pol == "h" else "Vertical"
                _dataset(
                    g,
                    f"cell_tb_{pol}_{look}",
                    _float(tb),
                    FLOAT_FILL,
                    "Kelvin",
                    f"{long_pol} polarization brightness temperature, {look} look, Backus-Gilbert "
                    "interpolated to the cell",
                    (0.0, 340.0),
                    coordinates=coordinates,
                )
                flags = " ".join(f"{long_pol}_polarization_{m}" for m in TB_FLAG_MEANINGS.split())
                _dataset(
                    g,
                    f"cell_tb_qual_flag_{pol}_{look}",
                    np.zeros(rows.shape, dtype=np.uint16),
                    UINT16_FILL,
                    None,
                    f"Quality of the {long_pol.lower()} brightness temperature, {look} look",
                    flags=flags,
                    coordinates=coordinates,
                )
        _metadata(
            f,
            "SPL1CTB_E",
            path.name,
            when - pd.Timedelta(minutes=25),
            when + pd.Timedelta(minutes=24),
            9.0,
            int(has.sum()),
            DIRECTION[overpass],
        )
    return path


def write_l2(
    region: RegionWorld,
    day: pd.Timestamp,
    overpass: str,
    layout: CellLayout,
    fields: dict[str, np.ndarray],
    dir: Path,
    rng: np.random.Generator,
) -> Path:
    """One SPL2SMP_E half-orbit file of the region's M09 cells (`fields`: cell_fields on the M09 layout)."""
    has, rows, cols, lon, lat, when, path = half_orbit_cells(region, day, overpass, layout, fields, "L2_SM_P_E", dir)
    sm = np.clip(fields["sm"][has] + RETRIEVAL_BIAS + rng.normal(0.0, RETRIEVAL_SD, rows.shape), 0.02, 0.5)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        g = f.create_group("Soil_Moisture_Retrieval_Data")
        coordinates = "/Soil_Moisture_Retrieval_Data/latitude /Soil_Moisture_Retrieval_Data/longitude"
        for axis, values, limit in (("row", rows, 1623), ("column", cols, 3855)):
            _dataset(
                g,
                f"EASE_{axis}_index",
                values.astype(np.uint16),
                UINT16_FILL,
                None,
                f"The {axis} index of the 9 km EASE grid cell that contains the associated data.",
                (0, limit),
                coordinates=coordinates,
            )
        _dataset(g, "latitude", lat.astype(np.float32), None, "degrees_north", "Latitude of the center of the cell.")
        _dataset(g, "longitude", lon.astype(np.float32), None, "degrees_east", "Longitude of the center of the cell.")
        _dataset(
            g,
            "soil_moisture",
            _float(sm),
            FLOAT_FILL,
            "cm**3/cm**3",
            "Representative soil moisture measurement for the Earth based grid cell.",
            (0.02, 0.5),
            coordinates=coordinates,
        )
        _dataset(
            g,
            "soil_moisture_error",
            _float(np.full(rows.shape, RETRIEVAL_SD)),
            FLOAT_FILL,
            "cm**3/cm**3",
            "Net uncertainty measure of soil moisture measure for the Earth based grid cell.",
            (0.0, 0.2),
            coordinates=coordinates,
        )
        _dataset(
            g,
            "retrieval_qual_flag",
            np.zeros(rows.shape, dtype=np.uint16),
            UINT16_FILL,
            None,
            "Bit flags that record the conditions and the quality of the retrieval algorithms that generate soil "
            "moisture for the grid cell",
            flags="Soil_moisture_retrieval_recommended Soil_moisture_retrieval_attempted "
            "Soil_moisture_retrieval_success FT_retrieval_success",
            coordinates=coordinates,
        )
        for pol, long_pol in (("h", "Horizontal"), ("v", "Vertical")):
            _dataset(
                g,
                f"tb_{pol}_corrected",
                _float(fields[f"tb_{pol}"][has] + rng.normal(0.0, RADIOMETER_NOISE_K, rows.shape)),
                FLOAT_FILL,
                "Kelvin",
                f"{long_pol} polarization brightness temperature in 9 km Earth grid cell after adjustment for the "
                "presence of water bodies.",
                (0.0, 330.0),
                coordinates=coordinates,
            )
        _dataset(
            g,
            "tb_time_seconds",
            np.full(rows.shape, to_seconds(when), dtype=np.float64),
            FLOAT_FILL,
            "seconds",
            "Arithmetic average of the acquisition time of all of the brightness temperature footprints with a "
            "center that falls within the EASE grid cell in seconds since noon on January 1, 2000 UTC.",
            (-999999.9, 940000000.0),
            coordinates=coordinates,
        )
        _metadata(
            f,
            "SPL2SMP_E",
            path.name,
            when - pd.Timedelta(minutes=25),
            when + pd.Timedelta(minutes=24),
            9.0,
            int(has.sum()),
            DIRECTION[overpass],
        )
    return path


def overpass_letter(overpass: str) -> str:
    """'D' (descending) for the AM pass, 'A' (ascending) for the PM pass, as SMAP half-orbit file names write it."""
    return DIRECTION[overpass][0]


def _l3_group(
    f: h5py.File,
    overpass: str,
    layout: CellLayout,
    fields: dict[str, np.ndarray] | None,
    when: pd.Timestamp | None,
    rng: np.random.Generator,
) -> None:
    """The AM or PM group of an SPL3SMP_E file; every cell filled when SMAP did not pass (fields None)."""
    suffix = "" if overpass == "AM" else "_pm"
    g = f.create_group(f"Soil_Moisture_Retrieval_Data_{overpass}")
    shape = layout.shape
    rows, cols = (a.reshape(shape) for a in layout.rows_cols())
    has = np.isfinite(fields["sm"]).reshape(shape) if fields is not None else np.zeros(shape, dtype=bool)
    lon, lat = ease2.rowcol_to_lonlat(layout.grid, rows, cols)
    coordinates = (
        f"/Soil_Moisture_Retrieval_Data_{overpass}/latitude{suffix} "
        f"/Soil_Moisture_Retrieval_Data_{overpass}/longitude{suffix}"
    )
    lat_fill = None if overpass == "AM" else FLOAT_FILL  # as the products have it: only the PM coordinates declare one
    _dataset(
        g,
        f"latitude{suffix}",
        _float(np.where(has, lat, np.nan)),
        lat_fill,
        "degrees_north",
        "Latitude of the center of the Earth based grid cell.",
    )
    _dataset(
        g,
        f"longitude{suffix}",
        _float(np.where(has, lon, np.nan)),
        lat_fill,
        "degrees_east",
        "Longitude of the center of the Earth based grid cell.",
    )
    _dataset(
        g,
        f"EASE_row_index{suffix}",
        np.where(has, rows, UINT16_FILL).astype(np.uint16),
        UINT16_FILL,
        None,
        "The row index of the 9 km EASE grid cell that contains the associated data.",
        (0, 1623),
        coordinates=coordinates,
    )
    _dataset(
        g,
        f"EASE_column_index{suffix}",
        np.where(has, cols, UINT16_FILL).astype(np.uint16),
        UINT16_FILL,
        None,
        "The column index of the 9 km EASE grid cell that contains the associated data.",
        (0, 3855),
        coordinates=coordinates,
    )
    values = {k: np.full(shape, np.nan) for k in ("sm", "tb_h", "tb_v")}
    if fields is not None:
        noise = rng.normal(0.0, RETRIEVAL_SD, layout.size)
        values["sm"] = np.clip(fields["sm"] + RETRIEVAL_BIAS + noise, 0.02, 0.5).reshape(shape)
        for pol in ("h", "v"):
            noisy = fields[f"tb_{pol}"] + rng.normal(0.0, RADIOMETER_NOISE_K, layout.size)
            values[f"tb_{pol}"] = noisy.reshape(shape)
    _dataset(
        g,
        f"soil_moisture{suffix}",
        _float(values["sm"]),
        FLOAT_FILL,
        "cm**3/cm**3",
        "Representative soil moisture measurement for the Earth based grid cell.",
        (0.02, 0.5),
        coordinates=coordinates,
    )
    _dataset(
        g,
        f"soil_moisture_error{suffix}",
        _float(np.where(has, RETRIEVAL_SD, np.nan)),
        FLOAT_FILL,
        "cm**3/cm**3",
        "Net uncertainty measure of soil moisture measure for the Earth based grid cell.",
        (0.0, 0.2),
        coordinates=coordinates,
    )
    _dataset(
        g,
        f"retrieval_qual_flag{suffix}",
        _qual_flags(np.where(has, 1.0, np.nan)),
        UINT16_FILL,
        None,
        "Bit flags that record the conditions and the quality of the retrieval algorithms that generate soil "
        "moisture within each grid cell",
        flags="Soil_moisture_retrieval_recommended "
        "Soil_moisture_retrieval_attempted Soil_moisture_retrieval_success FT_retrieval_success",
        coordinates=coordinates,
    )
    for pol, long_pol in (("h", "Horizontal"), ("v", "Vertical")):
        _dataset(
            g,
            f"tb_{pol}_corrected{suffix}",
            _float(values[f"tb_{pol}"]),
            FLOAT_FILL,
            "Kelvin",
            f"{long_pol} polarization brightness temperature in 9 km Earth grid cell after adjustment for the "
            "presence of water bodies.",
            (0.0, 330.0),
            coordinates=coordinates,
        )
    seconds = np.where(has, to_seconds(when) if when is not None else np.nan, np.nan)
    _dataset(
        g,
        f"tb_time_seconds{suffix}",
        np.where(np.isfinite(seconds), seconds, FLOAT_FILL),
        FLOAT_FILL,
        "seconds",
        "Arithmetic average of the acquisition time of all of the brightness temperature footprints "
        "with a center that falls within the EASE grid cell in seconds since noon on January 1, 2000 UTC.",
        (-999999.9, 940000000.0),
        coordinates=coordinates,
    )


def write_l3(
    region: RegionWorld,
    day: pd.Timestamp,
    passes: dict[str, bool],
    layout: CellLayout,
    fields: dict[str, np.ndarray],
    dir: Path,
    rng: np.random.Generator,
) -> Path:
    """One SPL3SMP_E daily file of the region's M09 window, AM and PM groups (`fields`: cell_fields on M09)."""
    lon = region.spec.lon
    path = Path(dir) / f"SMAP_L3_SM_P_E_{day:%Y%m%d}_{CRID}_001_{region.spec.name}.h5"
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for overpass in ("AM", "PM"):
            when = pass_time(day, overpass, lon) if passes[overpass] else None
            _l3_group(f, overpass, layout, fields if passes[overpass] else None, when, rng)
        _metadata(
            f,
            "SPL3SMP_E",
            path.name,
            pd.Timestamp(day).normalize(),
            pd.Timestamp(day).normalize() + pd.Timedelta(hours=23, minutes=59, seconds=59),
            9.0,
            layout.size,
        )
    return path


def _l2sp_group(
    f: h5py.File,
    km: int,
    layout: CellLayout,
    passes: dict[str, dict | None],
    times: dict[str, pd.Timestamp],
    rng: np.random.Generator,
) -> None:
    """The 1 km or 3 km group of an SPL2SMAP_S file: plain names for the AM pass, _apm for the PM pass."""
    g = f.create_group(f"Soil_Moisture_Retrieval_Data_{km}km")
    shape = layout.shape
    rows, cols = (a.reshape(shape) for a in layout.rows_cols())
    lon, lat = ease2.rowcol_to_lonlat(layout.grid, rows, cols)
    group_name = f"/Soil_Moisture_Retrieval_Data_{km}km"
    coordinates = f"{group_name}/latitude_{km}km {group_name}/longitude_{km}km"
    _dataset(
        g,
        f"latitude_{km}km",
        lat.astype(np.float32),
        None,
        "degrees_north",
        "Latitude of the center of the Earth based grid cell.",
    )
    _dataset(
        g,
        f"longitude_{km}km",
        lon.astype(np.float32),
        None,
        "degrees_east",
        "Longitude of the center of the Earth based grid cell.",
    )
    for overpass, infix in (("AM", ""), ("PM", "_apm")):
        fields = passes[overpass]
        has = np.isfinite(fields["sm"]).reshape(shape) if fields is not None else np.zeros(shape, dtype=bool)

        def name(base: str, infix: str = infix) -> str:
            """The product's name of a variable, e.g. soil_moisture_apm_1km."""
            return f"{base}{infix}_{km}km"

        _dataset(
            g,
            name("EASE_row_index"),
            np.where(has, rows, UINT16_FILL).astype(np.uint16),
            UINT16_FILL,
            None,
            f"The row index of the {km} km EASE grid cell that contains the associated data.",
            (0, 65535),
            coordinates=coordinates,
        )
        _dataset(
            g,
            name("EASE_column_index"),
            np.where(has, cols, UINT16_FILL).astype(np.uint16),
            UINT16_FILL,
            None,
            f"The column index of the {km} km EASE grid cell that contains the associated data.",
            (0, 65535),
            coordinates=coordinates,
        )
        if infix:
            _dataset(
                g,
                name("latitude"),
                _float(np.where(has, lat, np.nan)),
                FLOAT_FILL,
                "degrees_north",
                "Latitude of the center of the Earth based grid cell.",
                (-90.0, 90.0),
                coordinates=coordinates,
            )
            _dataset(
                g,
                name("longitude"),
                _float(np.where(has, lon, np.nan)),
                FLOAT_FILL,
                "degrees_east",
                "Longitude of the center of the Earth based grid cell.",
                (-180.0, 179.999),
                coordinates=coordinates,
            )
        blank = np.full(layout.size, np.nan)
        sm = (
            blank
            if fields is None
            else np.clip(fields["sm"] + rng.normal(0.0, ACTIVE_PASSIVE_SD, layout.size), 0.02, 0.75)
        )
        _dataset(
            g,
            name("soil_moisture"),
            _float(sm.reshape(shape)),
            FLOAT_FILL,
            "cm**3/cm**3",
            f"Representative soil moisture measurement for the {km} km Earth based grid cell.",
            (0.0, 0.75),
            coordinates=coordinates,
        )
        _dataset(
            g,
            name("soil_moisture_std_dev"),
            _float(np.where(has, ACTIVE_PASSIVE_SD, np.nan)),
            FLOAT_FILL,
            "cm**3/cm**3",
            "Standard deviation of the soil moisture retrieval.",
            (0.0, 0.2),
            coordinates=coordinates,
        )
        _dataset(
            g,
            name("retrieval_qual_flag"),
            _qual_flags(np.where(has, 1.0, np.nan)),
            UINT16_FILL,
            None,
            "Bit flags that record the conditions and the quality of the retrieval.",
            flags=RETRIEVAL_FLAG_MEANINGS,
            coordinates=coordinates,
        )
        for pol in ("vv", "vh"):
            values = blank if fields is None else fields[f"sigma0_{pol}"]
            cross = "co-polarized" if pol == "vv" else "cross-polarized"
            _dataset(
                g,
                name(f"sigma0_{pol}_aggregated"),
                _float(values.reshape(shape)),
                FLOAT_FILL,
                None,
                f"The outcome of aggretating a set of 1 km {cross} radar backscatter measurements into a {km} km "
                "EASE grid cell.",
                (-1.0, 10.0),
                coordinates=coordinates,
            )
        _dataset(
            g,
            name("sigma0_incidence_angle"),
            _float(np.where(has, SIGMA0_INCIDENCE_DEG, np.nan)),
            FLOAT_FILL,
            None,
            f"The outcome of aggretating a set of 1 km incidence angle of radar backscatter measurements "
            f"into a {km} km EASE grid cell.",
            (0.0, 90.0),
            coordinates=coordinates,
        )
        tb_v = blank if fields is None else fields["tb_v"] + rng.normal(0.0, RADIOMETER_NOISE_K, layout.size)
        _dataset(
            g,
            name("tb_v_disaggregated"),
            _float(tb_v.reshape(shape)),
            FLOAT_FILL,
            "Kelvin",
            "Disaggregated vertical polarization brightness temperature.",
            (0.0, 330.0),
            coordinates=coordinates,
        )
        seconds = np.where(has, to_seconds(times[overpass]), FLOAT_FILL)
        _dataset(
            g,
            name("spacecraft_overpass_time_seconds"),
            seconds,
            FLOAT_FILL,
            "seconds",
            "Number of seconds since a specified epoch that represents the spacecraft overpass relative to the "
            f"9 km EASE grid cell that contains each {km} km EASE grid cell represented in this data product.",
            (-999999.9, 940000000.0),
            coordinates=coordinates,
        )


def scene_tile(lon: float, lat: float) -> str:
    """The SPL2SMAP_S tile name of a scene centre, e.g. 009E36N."""
    return f"{abs(round(lon)):03d}{'E' if lon >= 0 else 'W'}{abs(round(lat)):02d}{'N' if lat >= 0 else 'S'}"


def write_l2sp(
    region: RegionWorld,
    day: pd.Timestamp,
    s1_time: pd.Timestamp,
    passes: dict[str, bool],
    cells: dict[int, tuple[CellLayout, dict[str, np.ndarray]]],
    dir: Path,
    rng: np.random.Generator,
) -> Path:
    """One SPL2SMAP_S file of a Sentinel-1 scene over the region's M01 and M03 windows (`cells`: km -> layout and
    cell_fields)."""
    lon, lat = region.spec.lon, region.spec.lat
    times = {overpass: pass_time(day, overpass, lon) for overpass in ("AM", "PM")}
    smap_time = times["AM"] if passes["AM"] else times["PM"]
    name = f"SMAP_L2_SM_SP_1AIWDV_{s1_time:%Y%m%dT%H%M%S}_{smap_time:%Y%m%dT%H%M%S}_{scene_tile(lon, lat)}_{CRID}_001"
    path = Path(dir) / f"{name}_{region.spec.name}.h5"
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        n_cells = 0
        for km in (1, 3):
            layout, fields = cells[km]
            _l2sp_group(f, km, layout, {p: fields if passes[p] else None for p in ("AM", "PM")}, times, rng)
            n_cells = n_cells or layout.size
        _metadata(f, "SPL2SMAP_S", path.name, min(s1_time, smap_time), max(s1_time, smap_time), 1.0, n_cells)
    return path


def sample_stride(region: RegionWorld, sample_m: float | None) -> int:
    """Study pixels between the truth samples a cell mean takes: every pixel (None), or about every `sample_m`."""
    return 1 if not sample_m else max(1, int(round(sample_m / region.grid.resolution)))


def write_products(
    world: list[RegionWorld],
    spec: WorldSpec,
    dir: Path,
    seed: int,
    short_names: Collection[str] = tuple(SOURCES),
    sentinel1_days_only: bool = False,
    sample_m: float | None = None,
) -> list[dict]:
    """The SMAP files of the demo world under `dir` (smap/<short name>/...), of the products named; returns their
    index entries.

    The half-orbit products (SPL1CTB_E, SPL2SMP_E) are written for every pass or, with `sentinel1_days_only`,
    only for the pass of each Sentinel-1 acquisition (AM for a descending one, PM for an ascending one) where
    SMAP passes that day. `sample_m` averages the truth over pixels about that far apart instead of every pixel.
    """
    dir = Path(dir)
    unknown = sorted(set(short_names) - set(SOURCES))
    if unknown:
        raise ValueError(f"no demo writer for SMAP products {unknown}; known: {sorted(SOURCES)}")
    half_orbit_writers = [
        (short, w) for short, w in (("SPL1CTB_E", write_l1c), ("SPL2SMP_E", write_l2)) if short in short_names
    ]
    entries = []
    schedule = sentinel1_schedule(spec)
    for index, region in enumerate(world):
        rng = np.random.default_rng([seed, 22, index])
        stride = sample_stride(region, sample_m)
        days = pd.DatetimeIndex(region.truth["time"].values)
        passing = {p: set(pass_days(days, p, index)) for p in ("AM", "PM")}
        name = region.spec.name
        layouts = {grid: cell_layout(region, ease2.GRIDS[grid], stride) for grid in ("M09", "M03", "M01")}

        def half_orbits(day: pd.Timestamp, overpass: str, m09: dict[str, np.ndarray]) -> None:
            """The half-orbit files of one pass."""
            when = pass_time(day, overpass, region.spec.lon)
            for short, writer in half_orbit_writers:
                path = writer(region, day, overpass, layouts["M09"], m09, dir / "smap" / short, rng)
                start, stop = when - pd.Timedelta(minutes=25), when + pd.Timedelta(minutes=24)
                entries.append(index_entry(SOURCES[short], path, dir, name, short, start, stop))

        every_pass = bool(half_orbit_writers) and not sentinel1_days_only
        if "SPL3SMP_E" in short_names or every_pass:
            for day in days:
                today = {p: day in passing[p] for p in ("AM", "PM")}
                m09 = cell_fields(pixel_fields(region, day, stride=stride), layouts["M09"])
                if "SPL3SMP_E" in short_names:
                    path = write_l3(region, day, today, layouts["M09"], m09, dir / "smap" / "SPL3SMP_E", rng)
                    end = day + pd.Timedelta(hours=23, minutes=59, seconds=59)
                    entries.append(index_entry(SOURCES["SPL3SMP_E"], path, dir, name, "SPL3SMP_E", day, end))
                for overpass in [p for p in ("AM", "PM") if today[p] and every_pass]:
                    half_orbits(day, overpass, m09)
        for row in schedule[schedule["region"] == name].itertuples():
            day = pd.Timestamp(row.date)
            today = {p: day in passing[p] for p in ("AM", "PM")}
            paired = "AM" if row.direction == "DESCENDING" else "PM"
            if not any(today.values()):
                continue  # SPL2SMAP_S exists only where a SMAP pass meets the Sentinel-1 scene
            pixels = pixel_fields(region, day, radar="SPL2SMAP_S" in short_names, stride=stride)
            if half_orbit_writers and sentinel1_days_only and today[paired]:
                half_orbits(day, paired, cell_fields(pixels, layouts["M09"]))
            if "SPL2SMAP_S" not in short_names:
                continue
            s1_time = pass_time(day, paired, region.spec.lon)
            cells = {km: (layouts[f"M0{km}"], cell_fields(pixels, layouts[f"M0{km}"])) for km in (1, 3)}
            path = write_l2sp(region, day, s1_time, today, cells, dir / "smap" / "SPL2SMAP_S", rng)
            entries.append(index_entry(SOURCES["SPL2SMAP_S"], path, dir, name, "SPL2SMAP_S", s1_time, s1_time))
    return entries
