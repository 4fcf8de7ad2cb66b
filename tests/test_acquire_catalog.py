"""The catalog format: checksums, the file name an item is delivered under, and catalog tables written and read."""

from __future__ import annotations

import hashlib

import pandas as pd

from soilsat.acquire.catalog import CATALOG_COLUMNS, item_filename, md5sum, read_catalog, write_catalog


def test_md5sum_reads_the_file_in_chunks(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 40)
    assert md5sum(path, chunk=1000) == md5sum(path) == hashlib.md5(path.read_bytes()).hexdigest()


def test_an_item_is_delivered_under_its_name_or_its_hrefs():
    assert item_filename({"name": "dem_a.tif", "href": "https://x/dem/tiles"}) == "dem_a.tif"
    assert item_filename({"name": "P1", "href": "/archive/sentinel1/P1.zip"}) == "P1.zip"


def test_a_catalog_table_reads_back_as_text_rows(tmp_path):
    catalog = pd.DataFrame([{"name": "P0", "source": "sentinel1", "relative_orbit": 117, "size": 10}]).reindex(
        columns=CATALOG_COLUMNS
    )
    write_catalog(catalog, tmp_path / "catalogs" / "sentinel1.csv")
    rows = read_catalog(tmp_path / "catalogs" / "sentinel1.csv")
    assert list(rows[0]) == CATALOG_COLUMNS
    assert (rows[0]["name"], rows[0]["relative_orbit"], rows[0]["tile"]) == ("P0", "117", "")
    assert [p.name for p in (tmp_path / "catalogs").iterdir()] == ["sentinel1.csv"]  # nothing left beside it
