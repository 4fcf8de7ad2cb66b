"""Checking and extracting downloaded zip archives safely (no absolute paths, no `..`, no links)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from soilsat.errors import ProductError

# File locations in a SAFE manifest's dataObjectSection: <fileLocation href="./measurement/...">
_HREF = re.compile(rb'<fileLocation[^>]*\shref="([^"]+)"')


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member may not be extracted, or None."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a '..' path"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return None


def check_members(path: str | os.PathLike) -> list[str]:
    """The member names of a zip after checking none is absolute, climbs with `..` or is a link."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ProductError(path, f"not a readable zip archive ({exc})") from None
    if bad is not None:
        raise ProductError(path, f"corrupt zip member {bad!r} (CRC mismatch)")
    for info in infos:
        reason = _unsafe_reason(info)
        if reason:
            raise ProductError(path, f"unsafe zip member {info.filename!r}: {reason}")
    return [i.filename for i in infos]


def check_safe_zip(path: str | os.PathLike) -> str:
    """Check a zipped SAFE product: safe members, one manifest, every file it lists present; return the SAFE folder."""
    path = Path(path)
    names = check_members(path)
    manifests = [n for n in names if PurePosixPath(n).name == "manifest.safe" and len(PurePosixPath(n).parts) == 2]
    if len(manifests) != 1:
        raise ProductError(path, f"expected one <name>.SAFE/manifest.safe in the zip, found {len(manifests)}")
    root = PurePosixPath(manifests[0]).parent
    with zipfile.ZipFile(path) as zf:
        manifest = zf.read(manifests[0])
    present = set(names)
    missing = []
    for href in _HREF.findall(manifest):
        rel = PurePosixPath(href.decode())
        if rel.is_absolute() or ".." in rel.parts:
            raise ProductError(path, f"manifest.safe lists an unsafe location {href.decode()!r}")
        member = (root / rel).as_posix().replace("/./", "/")
        if member not in present:
            missing.append(rel.as_posix())
    if missing:
        raise ProductError(
            path, f"{len(missing)} file(s) listed in manifest.safe missing from the zip, e.g. {missing[0]}"
        )
    return root.as_posix()


def safe_extract(
    path: str | os.PathLike, destination: str | os.PathLike, members: list[str] | None = None
) -> list[Path]:
    """Extract (some) members of a checked zip under `destination`; returns the written files."""
    path, destination = Path(path), Path(destination)
    names = check_members(path)
    wanted = names if members is None else [n for n in names if n in set(members)]
    written = []
    root = destination.resolve()
    with zipfile.ZipFile(path) as zf:
        for name in wanted:
            target = (root / name).resolve()
            if root not in target.parents:
                raise ProductError(path, f"unsafe zip member {name!r}: leaves the destination")
            if name.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(name) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            written.append(target)
    return written
