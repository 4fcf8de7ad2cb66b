"""The archive index entries of demo files: what the demo provider's catalog is built from."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd


def index_entry(
    source: str, path: Path, root: Path, region: str, product_type: str, start: pd.Timestamp, stop: pd.Timestamp
) -> dict:
    """source, name, path (relative to the archive root), region, size, md5, product_type and sensing times."""
    data = Path(path).read_bytes()
    return {
        "source": source,
        "name": Path(path).name,
        "path": Path(path).relative_to(root).as_posix(),
        "region": region,
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "product_type": product_type,
        "sensing_start": f"{pd.Timestamp(start):%Y-%m-%dT%H:%M:%S}Z",
        "sensing_stop": f"{pd.Timestamp(stop):%Y-%m-%dT%H:%M:%S}Z",
    }


def file_entry(source: str, path: Path, root: Path, region: str) -> dict:
    """source, name, path (relative to the archive root), region, size and md5 of a file without sensing times."""
    data = Path(path).read_bytes()
    return {
        "source": source,
        "name": Path(path).name,
        "path": Path(path).relative_to(root).as_posix(),
        "region": region,
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
    }
