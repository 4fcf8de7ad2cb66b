"""The demo provider: catalog search by source, region and date; verified fetches."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import pytest

from soilsat.acquire.catalog import read_catalog, write_catalog
from soilsat.acquire.demo_archive import DemoProvider
from soilsat.errors import ProductError


@pytest.fixture()
def archive(tmp_path):
    (tmp_path / "sentinel1").mkdir()
    rows = []
    days = [("2020-04-02", "a"), ("2020-04-14", "a"), ("2020-04-05", "b"), ("2020-06-01", "a")]
    for i, (day, region) in enumerate(days):
        path = tmp_path / "sentinel1" / f"P{i}.zip"
        path.write_bytes(f"product {i}".encode())
        rows.append(
            {
                "source": "sentinel1",
                "name": f"P{i}",
                "path": f"sentinel1/P{i}.zip",
                "product_type": "IW_GRDH_1S",
                "sensing_start": f"{day}T17:30:00Z",
                "sensing_stop": f"{day}T17:30:25Z",
                "regions": region,
                "size": path.stat().st_size,
                "md5": hashlib.md5(path.read_bytes()).hexdigest(),
            }
        )
    pd.DataFrame(rows).to_csv(tmp_path / "index.csv", index=False)
    return tmp_path


def test_search_filters_source_region_and_period(archive, tmp_path):
    catalog = DemoProvider(archive).search("sentinel1", ["a"], dt.date(2020, 4, 1), dt.date(2020, 4, 30))
    assert catalog["name"].tolist() == ["P0", "P1"]
    assert catalog["href"].str.endswith(".zip").all()
    write_catalog(catalog, tmp_path / "catalog.csv")
    assert [row["name"] for row in read_catalog(tmp_path / "catalog.csv")] == ["P0", "P1"]
    assert DemoProvider(archive).search("sentinel2", ["a"], dt.date(2020, 4, 1), dt.date(2020, 4, 30)).empty


def test_fetch_copies_verified_product(archive, tmp_path):
    provider = DemoProvider(archive)
    item = provider.search("sentinel1", ["b"], dt.date(2020, 1, 1), dt.date(2020, 12, 31)).iloc[0].to_dict()
    out = tmp_path / "got" / "P2.zip"
    provider.fetch(item, out)
    assert out.read_bytes() == b"product 2"


def test_fetch_with_wrong_checksum_leaves_nothing(archive, tmp_path):
    provider = DemoProvider(archive)
    item = provider.search("sentinel1", ["b"], dt.date(2020, 1, 1), dt.date(2020, 12, 31)).iloc[0].to_dict()
    item["checksum"] = "0" * 32
    out = tmp_path / "got" / "P2.zip"
    with pytest.raises(ProductError, match="checksum mismatch"):
        provider.fetch(item, out)
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_archive_without_index_is_named(tmp_path):
    with pytest.raises(ProductError, match="index.csv"):
        DemoProvider(tmp_path).search("sentinel1", ["a"], dt.date(2020, 1, 1), dt.date(2020, 1, 2))
