"""HDF4-EOS grid files (MODIS land products) read with pyhdf: the ODL structure metadata, fields, metadata.

An HDF-EOS 2 grid file is an HDF4 file whose scientific data sets (SDS) are the grid fields and whose
global attribute StructMetadata.0 (ODL text) defines each grid: its name, XDim and YDim, the projected
corners UpperLeftPointMtrs and LowerRightMtrs, the GCTP projection and the fields with their dimension
lists. CoreMetadata.0 holds the ECS inventory metadata (SHORTNAME, VERSIONID, RANGEBEGINNINGDATE, ...).
Values are stored as integers with _FillValue, valid_range and scale_factor attributes; MODIS land
products disagree on the sense of scale_factor (MOD09 multiplies by 0.0001, MOD13 divides by 10000), so
a factor above 1 divides.

pyhdf (its wheels bundle the HDF4 library) reads them; rasterio's wheels carry no HDF4 driver.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import cast

import numpy as np
from affine import Affine
from pyhdf.error import HDF4Error
from pyhdf.SD import SD, SDC

from soilsat.errors import ProductError

HDF4_SIGNATURE = b"\x0e\x03\x13\x01"
_ASSIGN = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*=\s*(.*?)\s*$")


def is_hdf4(path: str | os.PathLike) -> bool:
    """Whether a file starts with the HDF4 signature."""
    with open(path, "rb") as f:
        return f.read(4) == HDF4_SIGNATURE


def open_hdf4(path: str | os.PathLike) -> SD:
    """The file's scientific data set interface, read-only; ProductError when missing, not HDF4 or damaged."""
    path = Path(path)
    if not path.is_file():
        raise ProductError(path, "no such file")
    if not is_hdf4(path):
        with open(path, "rb") as f:
            head = f.read(8)
        raise ProductError(path, f"not an HDF4 file (it starts with {head!r})")
    try:
        return SD(str(path), SDC.READ)
    except HDF4Error as err:
        raise ProductError(path, f"unreadable HDF4 file, truncated or damaged ({err})") from None


@dataclasses.dataclass
class OdlNode:
    """A GROUP or OBJECT of an ODL text: its name, its KEY = value pairs and its children."""

    name: str
    values: dict[str, str] = dataclasses.field(default_factory=dict)
    children: list[OdlNode] = dataclasses.field(default_factory=list)

    def find(self, name: str) -> OdlNode | None:
        """The first descendant named `name` (depth first)."""
        for child in self.children:
            if child.name == name:
                return child
            found = child.find(name)
            if found is not None:
                return found
        return None


def parse_odl(text: str) -> OdlNode:
    """The tree of an ODL text (StructMetadata.0, CoreMetadata.0): GROUP/OBJECT blocks with KEY = value pairs;
    a value in parentheses may run over several lines."""
    root = OdlNode("")
    stack = [root]
    lines = iter(text.replace("\x00", "").splitlines())
    for line in lines:
        match = _ASSIGN.match(line)
        if not match:
            continue
        key, value = match.groups()
        while value.count("(") > value.count(")"):
            value += next(lines, ")").strip()
        if key in ("GROUP", "OBJECT"):
            node = OdlNode(value)
            stack[-1].children.append(node)
            stack.append(node)
        elif key in ("END_GROUP", "END_OBJECT"):
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1].values[key] = value
    return root


def odl_string(value: str) -> str:
    """An ODL value without its quotes."""
    return value.strip().strip('"')


def odl_numbers(value: str) -> tuple[float, ...]:
    """The numbers of an ODL tuple such as (0.000000,-1111950.519667)."""
    return tuple(float(v) for v in value.strip().strip("()").split(",") if v.strip())


def odl_names(value: str) -> tuple[str, ...]:
    """The quoted names of an ODL tuple such as ("YDim","XDim")."""
    return tuple(v.strip().strip('"') for v in value.strip().strip("()").split(",") if v.strip())


@dataclasses.dataclass(frozen=True)
class EosGrid:
    """One grid of a file's StructMetadata.0."""

    name: str
    xdim: int
    ydim: int
    upper_left: tuple[float, float]
    lower_right: tuple[float, float]
    projection: str
    proj_params: tuple[float, ...]
    fields: dict[str, tuple[str, ...]]

    @property
    def transform(self) -> Affine:
        """The affine transform of the grid's pixel corners."""
        (ulx, uly), (lrx, lry) = self.upper_left, self.lower_right
        return Affine((lrx - ulx) / self.xdim, 0.0, ulx, 0.0, (lry - uly) / self.ydim, uly)


def global_attribute(sd: SD, name: str, path: str | os.PathLike) -> str:
    """A global text attribute; ProductError when the file lacks it (then it is no HDF-EOS file)."""
    attributes = sd.attributes()
    if name not in attributes:
        raise ProductError(path, f"no global attribute {name}: not an HDF-EOS file")
    return str(attributes[name])


def grids(sd: SD, path: str | os.PathLike) -> dict[str, EosGrid]:
    """Every grid of the file's StructMetadata.0, by name."""
    tree = parse_odl(global_attribute(sd, "StructMetadata.0", path))
    structure = tree.find("GridStructure")
    out = {}
    for node in structure.children if structure else []:
        try:
            data_field = node.find("DataField")
            fields = {
                odl_string(f.values["DataFieldName"]): odl_names(f.values["DimList"])
                for f in (data_field.children if data_field else [])
            }
            grid = EosGrid(
                name=odl_string(node.values["GridName"]),
                xdim=int(node.values["XDim"]),
                ydim=int(node.values["YDim"]),
                upper_left=cast("tuple[float, float]", odl_numbers(node.values["UpperLeftPointMtrs"])[:2]),
                lower_right=cast("tuple[float, float]", odl_numbers(node.values["LowerRightMtrs"])[:2]),
                projection=node.values.get("Projection", ""),
                proj_params=odl_numbers(node.values.get("ProjParams", "()")),
                fields=fields,
            )
        except (KeyError, ValueError) as err:
            raise ProductError(path, f"StructMetadata.0 grid {node.name} is incomplete ({err})") from None
        out[grid.name] = grid
    if not out:
        raise ProductError(path, "StructMetadata.0 defines no grid")
    return out


def core_value(sd: SD, key: str, path: str | os.PathLike) -> str:
    """The VALUE of an inventory object of CoreMetadata.0 (e.g. SHORTNAME), without quotes."""
    node = parse_odl(global_attribute(sd, "CoreMetadata.0", path)).find(key)
    if node is None or "VALUE" not in node.values:
        raise ProductError(path, f"CoreMetadata.0 has no {key}")
    return odl_string(node.values["VALUE"])


def read_field(sd: SD, name: str, path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Raw values and attributes of a field (SDS); ProductError naming the field when missing or unreadable."""
    if name not in sd.datasets():
        raise ProductError(path, f"no field {name!r} (fields: {sorted(sd.datasets())})")
    try:
        sds = sd.select(name)
        values, attrs = np.asarray(sds.get()), sds.attributes()
        sds.endaccess()
    except HDF4Error as err:
        raise ProductError(path, f"field {name!r} cannot be read, the file is truncated or damaged ({err})") from None
    return values, attrs


def scale_of(attrs: dict) -> float:
    """The factor that turns stored values into physical ones (a scale_factor above 1 divides, as MOD13's 10000)."""
    scale = float(attrs.get("scale_factor", 1.0))
    return 1.0 / scale if scale > 1.0 else scale


def physical(values: np.ndarray, attrs: dict) -> np.ndarray:
    """Float64 physical values: _FillValue and values outside valid_range as NaN, then scaled (offset first)."""
    raw = np.asarray(values)
    bad = np.zeros(raw.shape, dtype=bool)
    if "_FillValue" in attrs:
        bad |= raw == attrs["_FillValue"]
    if "valid_range" in attrs:
        low, high = attrs["valid_range"]
        bad |= (raw < low) | (raw > high)
    out = (raw.astype(np.float64) - float(attrs.get("add_offset", 0.0))) * scale_of(attrs)
    out[bad] = np.nan
    return out


# pyhdf's SDC type codes and the numpy types they hold.
SDC_TYPES = {
    SDC.CHAR8: "S1",
    SDC.UCHAR8: "uint8",
    SDC.INT8: "int8",
    SDC.UINT8: "uint8",
    SDC.INT16: "int16",
    SDC.UINT16: "uint16",
    SDC.INT32: "int32",
    SDC.UINT32: "uint32",
    SDC.FLOAT32: "float32",
    SDC.FLOAT64: "float64",
}


def fields_summary(sd: SD) -> dict[str, dict]:
    """Every field: dtype, shape, fill value, scale and units (for a product description)."""
    out = {}
    for name, (_, shape, code, _) in sd.datasets().items():
        sds = sd.select(name)
        attrs = sds.attributes()
        sds.endaccess()
        fill = attrs.get("_FillValue")
        out[name] = {
            "dtype": SDC_TYPES.get(code, str(code)),
            "shape": [int(s) for s in np.atleast_1d(shape)],
            "fill_value": fill.item() if isinstance(fill, np.generic) else fill,
            "scale_factor": attrs.get("scale_factor"),
            "units": attrs.get("units"),
        }
    return out
