"""Where an ISMN download keeps its data files, and the root the ismn package must be given.

ISMN's portal delivers `<network>/<station>/<file>.stm` at the top of the zip. A zip made by
a user (or the ismn package's own test archives) often wraps this in one more folder. The
ismn package roots its scan at the zip's top, so a wrapper folder makes it read every
sensor twice and give each station the first `static_variables.csv` under the network; a
wrapped folder it reads not at all. Here the folder above the network folders is found
from where the data files lie, and the ismn package is rooted there.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath

from soilsat.acquire.archives import safe_extract
from soilsat.errors import ProductError

DATA_SUFFIX = ".stm"
LAYOUT = "<network>/<station>/<file>.stm"


def member_names(archive: Path) -> list[str]:
    """The '/'-separated paths of the files of a download: zip members, or files under the folder."""
    if archive.is_dir():
        return sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*") if p.is_file())
    try:
        with zipfile.ZipFile(archive) as zf:
            return [n for n in zf.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise ProductError(archive, f"unreadable zip archive ({exc})") from None


def data_files(names: Sequence[str]) -> list[str]:
    """The ISMN data files (.stm) among the paths of a download (not the resource forks macOS zips carry)."""
    return [
        n
        for n in names
        if n.lower().endswith(DATA_SUFFIX)
        and not n.startswith("__MACOSX/")
        and not PurePosixPath(n).name.startswith("._")
    ]


def data_prefix(archive: Path, names: Sequence[str]) -> str:
    """The folder above the network folders: '' at the top of the download, else a path ending in '/'."""
    stm = data_files(names)
    deep = [n for n in stm if len(PurePosixPath(n).parts) >= 3]
    if not deep:
        raise ProductError(archive, f"not an ISMN download: no {LAYOUT} data files")
    prefixes = sorted({"".join(f"{p}/" for p in PurePosixPath(n).parts[:-3]) for n in deep})
    shallow = sorted(set(stm) - set(deep))
    if len(prefixes) > 1 or shallow:
        first, other = (prefixes[0], prefixes[1]) if len(prefixes) > 1 else (prefixes[0], shallow[0])
        raise ProductError(
            archive,
            f"ISMN data files at different folder depths ({first or './'} and "
            f"{other or './'}); an ISMN download keeps them as {LAYOUT}, under one folder",
        )
    return prefixes[0]


def ismn_root(archive: Path, names: Sequence[str], prefix: str, workdir: str | os.PathLike) -> Path:
    """The path to root the ismn package at: the archive, its folder below the wrapper, or the wrapper unpacked.

    A wrapped zip is unpacked under `workdir` (only the files below the wrapper), since the
    ismn package cannot be rooted inside a zip.
    """
    if not prefix:
        return archive
    if archive.is_dir():
        return archive / prefix
    safe_extract(archive, workdir, [n for n in names if n.startswith(prefix)])
    return Path(workdir) / prefix


@contextlib.contextmanager
def member_reader(archive: Path) -> Iterator[Callable[..., bytes]]:
    """A function giving the bytes of a file of the download (all, or the first `size`), the zip opened once;
    ProductError naming the file when it is unreadable."""
    zf = None
    if not archive.is_dir():
        try:
            zf = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ProductError(archive, f"unreadable zip archive ({exc})") from None

    def read(name: str, size: int = -1) -> bytes:
        try:
            if zf is None:
                with open(archive / name, "rb") as f:
                    return f.read(size)
            with zf.open(name) as f:
                return f.read(size)
        except (KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise ProductError(f"{archive}!{name}", f"unreadable ISMN data file ({exc})") from None

    try:
        yield read
    finally:
        if zf is not None:
            zf.close()


def read_member(archive: Path, name: str, size: int = -1) -> bytes:
    """The bytes of one file of a download (all, or the first `size`), ProductError naming it when unreadable."""
    with member_reader(archive) as read:
        return read(name, size)
