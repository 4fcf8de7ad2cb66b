"""Finding the SAFE product a user's path names, the same way for every reader and the command line.

Users give a `.SAFE` folder or one renamed without the suffix, a folder holding one product
(as Sen2Cor leaves its output), the product's own `manifest.safe` or metadata file, a zip
holding the product at its top (as ESA delivers it) or one folder deeper (as a zip of a
download folder does). Each reader names the file that marks its product (the manifest
for Sentinel-1, the product metadata for Sentinel-2) and gets the folder or zip root of
the product, or a ProductError that says what the path holds instead.
"""

from __future__ import annotations

import dataclasses
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from soilsat.errors import ProductError

MANIFEST = "manifest.safe"
# the marking file may sit in the SAFE folder at a zip's top or inside one more folder
MAX_ZIP_DEPTH = 3
# Sentinel-1 manifests name the platform family SENTINEL-1; Sentinel-2 ones say SENTINEL and name sentinel-2 elsewhere
_MISSION = re.compile(rb"SENTINEL-([12])", re.IGNORECASE)
_S2_METADATA = re.compile(r"^(MTD_MSIL(1C|2A)\.xml|S2[A-D]_(OPER|USER)_MTD_SAF[A-Z0-9]+_.*\.xml)$")


class NotOneProduct(ProductError):
    """A path that holds several products, or a zip that holds a zip: a SAFE product is there, but not one."""


@dataclasses.dataclass(frozen=True)
class SafeLocation:
    """Where a product's files are: a SAFE folder, or the SAFE folder inside a zip."""

    path: Path  # the zip, or the SAFE folder
    root: str  # inside a zip: the SAFE folder with a trailing '/' ('' for a folder)
    members: frozenset[str] | None  # a zip's member names
    marker: str | None  # the marking file, relative to the SAFE folder (None when the product lacks it)

    @property
    def is_zip(self) -> bool:
        return self.members is not None

    @property
    def name(self) -> str:
        """The SAFE folder's name, without .SAFE."""
        base = PurePosixPath(self.root).name if self.is_zip and self.root else self.path.name
        for suffix in (".zip", ".SAFE", ".safe"):
            base = base.removesuffix(suffix)
        return base


def is_s2_metadata(name: str) -> bool:
    """Whether a file name is a Sentinel-2 product metadata file (compact MTD_MSIL*.xml or the first format's)."""
    return bool(_S2_METADATA.match(name))


def _depth(member: str) -> int:
    return len(PurePosixPath(member).parts)


def _in_zip(path: Path, is_marker: Callable[[str], bool]) -> SafeLocation:
    try:
        with zipfile.ZipFile(path) as zf:
            members = frozenset(zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ProductError(path, f"not a readable zip file ({exc}); truncated or corrupt download?") from None
    found = sorted(
        (m for m in members if is_marker(PurePosixPath(m).name) and _depth(m) <= MAX_ZIP_DEPTH),
        key=lambda m: (_depth(m), m),
    )
    if found:
        by_folder: dict[str, str] = {}  # the product folders at the shallowest depth, each with its first marking file
        for m in (m for m in found if _depth(m) == _depth(found[0])):
            by_folder.setdefault(PurePosixPath(m).parent.as_posix(), m)
        if len(by_folder) > 1:
            raise NotOneProduct(
                path, f"holds {len(by_folder)} products ({', '.join(by_folder)}); give a zip of one product"
            )
        parent, marker = next(iter(by_folder.items()))
        root = "" if parent == "." else f"{parent}/"
        return SafeLocation(path, root, members, marker[len(root) :])
    inner = sorted(m for m in members if m.lower().endswith(".zip"))
    if inner and all(m in inner or m.endswith("/") for m in members):
        raise NotOneProduct(
            path,
            f"holds another zip ({inner[0]}) rather than a SAFE product: give that zip itself (unpack the outer one)",
        )
    tops = sorted({m.split("/")[0] for m in members if "/" in m and m.split("/")[0].endswith(".SAFE")})
    return SafeLocation(path, f"{tops[0]}/" if len(tops) == 1 else "", members, None)


def _in_folder(folder: Path, is_marker: Callable[[str], bool]) -> SafeLocation:
    def marker_of(d: Path) -> str | None:
        return next((f.name for f in sorted(d.iterdir()) if f.is_file() and is_marker(f.name)), None)

    marker = marker_of(folder)
    if marker:
        return SafeLocation(folder, "", None, marker)
    inner = [d for d in sorted(folder.iterdir()) if d.is_dir()]
    products = [(d, m) for d in inner for m in [marker_of(d)] if m]
    if len(products) > 1:
        names = ", ".join(d.name for d, _ in products)
        raise NotOneProduct(folder, f"holds {len(products)} products ({names}); give the folder of one")
    if products:
        return SafeLocation(products[0][0], "", None, products[0][1])
    safes = [d for d in inner if d.name.endswith(".SAFE")]
    return SafeLocation(safes[0] if len(safes) == 1 else folder, "", None, None)


def locate(path: str | os.PathLike, is_marker: Callable[[str], bool]) -> SafeLocation:
    """The SAFE product a path names, found by the file that marks it (`is_marker` tests a file name).

    A bare marking file or `manifest.safe` stands for its folder. The location's `marker` is
    None when no such file was found where the product should be; the caller says what is
    missing.
    """
    path = Path(path)
    if not path.exists():
        raise ProductError(path, "no such file or folder")
    if path.is_file() and (is_marker(path.name) or path.name == MANIFEST):
        return _in_folder(path.parent, is_marker)
    if path.is_dir():
        return _in_folder(path, is_marker)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        return _in_zip(path, is_marker)
    raise ProductError(path, "neither a SAFE folder, a zip holding one, nor a product's manifest.safe or metadata file")


def read_marker(location: SafeLocation, name: str) -> bytes:
    """The bytes of a file of the product, relative to its SAFE folder."""
    if location.is_zip:
        with zipfile.ZipFile(location.path) as zf:
            return zf.read(location.root + name)
    return (location.path / name).read_bytes()


def mission(path: str | os.PathLike) -> str | None:
    """'sentinel1' or 'sentinel2' for a path that names a SAFE product of either, else None.

    Known by the product's files (a Sentinel-2 metadata file, the manifest's platform), and
    by its name where the manifest is not there. A path holding several products, or a zip
    holding a zip, raises NotOneProduct.
    """
    if is_s2_metadata(Path(path).name):
        return "sentinel2"
    try:
        location = locate(path, lambda n: n == MANIFEST or is_s2_metadata(n))
    except NotOneProduct:
        raise
    except ProductError:
        return None
    if location.marker is None:
        return None
    if is_s2_metadata(location.marker):
        return "sentinel2"
    try:
        family = _MISSION.search(read_marker(location, location.marker)[:8192])
    except (OSError, KeyError, zipfile.BadZipFile):
        family = None
    if family:
        return f"sentinel{family.group(1).decode()}"
    prefix = location.name[:2]
    return {"S1": "sentinel1", "S2": "sentinel2"}.get(prefix)
