"""Which NASA product a file holds, recognised by its content, and the description of each kind.

HDF5 files with SMAP's /Metadata/DatasetIdentification shortName and HDF4 files with an ECS
CoreMetadata.0 SHORTNAME are NASA products; other files are not (product_kind returns None).
"""

from __future__ import annotations

import os
from types import ModuleType

from soilsat.errors import ProductError
from soilsat.nasa import h5file, hdfeos, mcd12q2, mod09ga, modis_file, smap_l1c, smap_l2, smap_l2sp, smap_l3

READERS: dict[str, ModuleType] = {m.KIND: m for m in (smap_l1c, smap_l2, smap_l2sp, smap_l3, mcd12q2, mod09ga)}
KIND_OF_SHORT_NAME = {
    **{name: smap_l1c.KIND for name in smap_l1c.GRID_OF},
    **{name: smap_l2.KIND for name in smap_l2.GRID_OF},
    smap_l2sp.SHORT_NAME: smap_l2sp.KIND,
    **{name: smap_l3.KIND for name in smap_l3.GRID_OF},
    mcd12q2.SHORT_NAME: mcd12q2.KIND,
    **{name: mod09ga.KIND for name in mod09ga.SHORT_NAMES},
}
MODIS_KIND = "modis"  # any other MODIS HDF-EOS grid product (e.g. MOD13A2): described, not read
KINDS = tuple(READERS) + (MODIS_KIND,)


def short_name(path: str | os.PathLike) -> str | None:
    """The product short name a SMAP HDF5 or MODIS HDF4-EOS file declares, None for other files."""
    if h5file.is_hdf5(path):
        with h5file.open_h5(path) as f:
            ident = f.get("Metadata/DatasetIdentification")
            return h5file.text(ident.attrs["shortName"]) if ident is not None and "shortName" in ident.attrs else None
    if hdfeos.is_hdf4(path):
        sd = hdfeos.open_hdf4(path)
        try:
            if "CoreMetadata.0" not in sd.attributes():
                return None
            return hdfeos.core_value(sd, "SHORTNAME", path)
        finally:
            sd.end()
    return None


def product_kind(path: str | os.PathLike) -> str | None:
    """The kind of a NASA product file (a key of READERS, or 'modis'); None when the file is not one."""
    name = short_name(path)
    if name is None:
        return None
    if name in KIND_OF_SHORT_NAME:
        return KIND_OF_SHORT_NAME[name]
    if hdfeos.is_hdf4(path):
        return MODIS_KIND
    raise ProductError(
        path,
        f"a SMAP product {name}, which soilsat does not read (it reads "
        f"{', '.join(n for n in KIND_OF_SHORT_NAME if n.startswith('SPL'))})",
    )


def describe(path: str | os.PathLike) -> dict:
    """The kind and describe() summary of a NASA product file; ProductError when it is none."""
    kind = product_kind(path)
    if kind is None:
        raise ProductError(path, "neither a SMAP HDF5 product nor a MODIS HDF4-EOS product")
    summary = modis_file.describe(path) if kind == MODIS_KIND else READERS[kind].describe(path)
    return {"kind": kind} | summary
