"""Zipped products checked before use: safe members, and every file the SAFE manifest lists."""

from __future__ import annotations

import pytest

from cdse_account import safe_zip
from soilsat.acquire.archives import check_safe_zip, safe_extract
from soilsat.errors import ProductError


def test_manifest_files_must_be_in_the_zip(tmp_path):
    (tmp_path / "p.zip").write_bytes(safe_zip(drop_listed=True))
    missing = "1 file.s. listed in manifest.safe missing from the zip, e.g. measurement/m.tiff"
    with pytest.raises(ProductError, match=missing):
        check_safe_zip(tmp_path / "p.zip")
    (tmp_path / "ok.zip").write_bytes(safe_zip())
    written = safe_extract(tmp_path / "ok.zip", tmp_path / "out")
    assert sorted(p.name for p in written) == ["a.xml", "m.tiff", "manifest.safe"]
