"""STAC Item Search over a study's points: the request body, paging by next links (POST and GET), point matching."""

from __future__ import annotations

import pytest
import requests

from loopback_stac import serve_stac
from soilsat.acquire.download import RetryPolicy, TransferError
from soilsat.stac.search import ItemSearch, matches, search_items

POLICY = RetryPolicy(max_tries=2, base_delay_s=0.0, max_delay_s=1.0, timeout_s=10.0, quota_wait_s=None, quota_tries=0)


def _item(n: int, west: float, south: float, day: int, collection: str = "sentinel-2-c1-l2a") -> dict:
    """A footprint of 1 x 1 degree with its south-west corner at (west, south), on day `day` of May 2020."""
    ring = [[west, south], [west + 1, south], [west + 1, south + 1], [west, south + 1], [west, south]]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": f"S2_{n:03d}",
        "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [west, south, west + 1, south + 1],
        "properties": {"datetime": f"2020-05-{day:02d}T10:30:00Z"},
        "assets": {},
        "links": [],
    }


ITEMS = (
    [_item(i, 8.0, 55.0, 1 + i % 28) for i in range(25)]  # over the first point, 25 dates
    + [_item(100 + i, -59.0, -35.0, 1 + i) for i in range(5)]  # over the second point
    + [_item(200, 20.0, 40.0, 3)]  # over no point
    + [_item(300, 8.0, 55.0, 4, collection="sentinel-2-l1c")]  # another collection
)
POINTS = ((8.5, 55.5), (-58.4, -34.6))


@pytest.mark.parametrize("get_paging", [False, True])
def test_search_follows_next_links_and_filters(get_paging):
    with serve_stac() as api:
        api.items = ITEMS
        api.get_paging = get_paging
        search = ItemSearch(api.url, ("sentinel-2-c1-l2a",), POINTS, "2020-05-01T00:00:00Z", "2020-05-31T23:59:59Z", 7)
        found = list(search_items(search, requests.Session(), POLICY))
        posts = [r for r in api.requests if r["method"] == "POST"]
        gets = [r for r in api.requests if r["method"] == "GET"]
    assert sorted(i["id"] for i in found) == sorted(i["id"] for i in ITEMS[:30])
    assert len(posts) + len(gets) == 5  # 30 items, 7 a page
    first = posts[0]["body"]
    assert first["intersects"] == {"type": "MultiPoint", "coordinates": [[8.5, 55.5], [-58.4, -34.6]]}
    assert first["collections"] == ["sentinel-2-c1-l2a"] and first["limit"] == 7
    assert first["datetime"] == "2020-05-01T00:00:00Z/2020-05-31T23:59:59Z"
    if get_paging:
        assert len(posts) == 1 and len(gets) == 4
    else:  # the next body is the search's own, merged with the page token
        assert all(p["body"]["intersects"] == first["intersects"] for p in posts[1:])
        assert [p["body"]["token"] for p in posts[1:]] == ["next:7", "next:14", "next:21", "next:28"]


def test_search_by_date_keeps_only_the_interval():
    with serve_stac() as api:
        api.items = ITEMS
        search = ItemSearch(api.url, ("sentinel-2-c1-l2a",), POINTS[:1], "2020-05-10T00:00:00Z", "2020-05-12T23:59:59Z")
        found = list(search_items(search, requests.Session(), POLICY))
    assert sorted(i["properties"]["datetime"][:10] for i in found) == ["2020-05-10", "2020-05-11", "2020-05-12"]


def test_matches_pairs_items_with_the_points_they_hold():
    paired = matches(ITEMS, ["dk", "ar"], list(POINTS))
    assert paired["S2_000"] == ["dk"] and paired["S2_100"] == ["ar"]
    assert "S2_200" not in paired
    assert len(paired) == len(ITEMS) - 1


def test_search_answer_that_is_not_an_item_collection_names_the_api():
    with serve_stac() as api:
        search = ItemSearch(api.url + "/nowhere", ("c",), POINTS, "2020-01-01", "2020-02-01")
        with pytest.raises(TransferError, match="nowhere/search: HTTP 404"):
            list(search_items(search, requests.Session(), POLICY))
    with pytest.raises(ValueError, match="at least one point"):
        ItemSearch("http://x", ("c",), (), "a", "b").body()
