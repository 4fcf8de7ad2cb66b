"""The provider a configuration names."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from soilsat.acquire.catalog import item_filename
from soilsat.acquire.factory import get_provider


def test_demo_provider_still_served_by_get_provider(tmp_path):
    pd.DataFrame([{"source": "dem", "name": "dem_a.tif", "path": "dem/dem_a.tif", "md5": "x", "regions": "a"}]).to_csv(
        tmp_path / "index.csv", index=False
    )
    catalog = get_provider("demo", {"archive": str(tmp_path)}).search(
        "dem", ["a"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)
    )
    assert item_filename(catalog.iloc[0].to_dict()) == "dem_a.tif"
    with pytest.raises(ValueError, match="unknown provider 'nope'"):
        get_provider("nope", {})


@pytest.mark.parametrize("name, kind", [("cdse", "CopernicusProvider"), ("earthdata", "EarthdataProvider")])
def test_real_providers_need_the_settings_of_their_sources(name, kind):
    settings = {"regions": [], "grid": {"margin_m": 0}, "cdse": {}, "earthdata": {}}
    assert type(get_provider(name, {}, settings)).__name__ == kind
    with pytest.raises(ValueError, match=f"provider '{name}' needs the config settings of its sources"):
        get_provider(name, {})
