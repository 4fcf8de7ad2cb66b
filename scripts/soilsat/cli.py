"""The soilsat command-line tool: things users do outside the workflow's DAG."""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from soilsat.errors import SoilsatError
from soilsat.safe_location import mission


def product_kind(path: Path) -> str:
    """What a path holds: 'sentinel1', 'sentinel2', 'ismn', a NASA product (soilsat.nasa.kinds: SMAP HDF5, MODIS
    HDF4-EOS), or, for a NetCDF file, the reference product 'csm' (CGLS SSM 1 km) or 'ecv_sm' (ESA CCI SM
    COMBINED) its content shows; ValueError when none of them.

    A SAFE product is found as its readers find it (soilsat.safe_location): folder with or
    without .SAFE, a folder holding one, its manifest.safe or metadata file, or a zip holding
    it at the top or one folder deeper.
    """
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    if path.is_file():
        from soilsat.nasa.kinds import product_kind as nasa_kind

        kind = nasa_kind(path)  # SMAP HDF5 or MODIS HDF4-EOS
        if kind:
            return kind
    if path.is_file() and not zipfile.is_zipfile(path):
        from soilsat.reference.ncfile import is_netcdf

        if is_netcdf(path):
            from soilsat.reference.kinds import product_kind as reference_kind

            return reference_kind(path)
    kind = mission(path)
    if kind:
        return kind
    if path.is_dir():
        names = [p.name for p in path.rglob("*.stm")]
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    else:
        raise ValueError(
            f"{path}: neither a folder, a zip archive, a product's manifest.safe or metadata file, nor a NetCDF file"
        )
    if any(n.endswith(".stm") for n in names):
        return "ismn"
    raise ValueError(f"{path}: not a Sentinel-1 or Sentinel-2 SAFE product, nor an ISMN archive")


def inspect(path: Path) -> dict:
    """A JSON-serialisable summary of any product the workflow reads."""
    kind = product_kind(path)
    from soilsat.nasa.kinds import KINDS as NASA_KINDS

    if kind in NASA_KINDS:
        from soilsat.nasa.kinds import describe

        return {"path": str(path)} | describe(path)
    if kind in ("csm", "ecv_sm"):
        from soilsat.reference.kinds import PRODUCTS

        return {"kind": kind, "path": str(path)} | PRODUCTS[kind].describe(path)
    summarize: Callable[[Path], dict]
    if kind == "sentinel1":
        from soilsat.sar.safe import summarize
    elif kind == "sentinel2":
        from soilsat.optical.safe import summarize
    else:
        from soilsat.acquire.ismn import summarize
    return {"kind": kind, "path": str(path)} | summarize(path)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `soilsat` console script."""
    parser = argparse.ArgumentParser(prog="soilsat", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    p_inspect = commands.add_parser(
        "inspect",
        help="print a JSON summary of a SAFE product, an ISMN archive, a CSM or ECV_SM NetCDF file, "
        "or a SMAP (HDF5) or MODIS (HDF4-EOS) file",
    )
    p_inspect.add_argument("path", type=Path)
    p_s1 = commands.add_parser("s1", help="Sentinel-1 tools")
    s1_commands = p_s1.add_subparsers(dest="s1_command", required=True)
    p_geo = s1_commands.add_parser(
        "geolocation-check", help="compare our orbit/range-Doppler geometry with a GRD product's geolocation grid"
    )
    p_geo.add_argument("path", type=Path, help="SAFE folder or zip")
    p_geo.add_argument("--polarisation", action="append", help="check only this polarisation (repeatable)")
    args = parser.parse_args(argv)
    try:
        if args.command == "inspect":
            print(json.dumps(inspect(args.path), indent=2, default=str))
        elif args.command == "s1" and args.s1_command == "geolocation-check":
            from soilsat.sar.geolocation_check import check_product

            for record in check_product(args.path, args.polarisation):
                print(json.dumps(record), flush=True)
    except (SoilsatError, ValueError) as err:
        print(f"soilsat {args.command}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
