"""The provider interface of the acquire stage: search a source into a catalog, fetch one item."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd


class Provider(Protocol):
    """Where raw data come from."""

    def search(
        self, source: str, regions: Sequence[str], start: dt.date, end: dt.date, product_type: str | None = None
    ) -> pd.DataFrame:
        """Catalog of the items of `source` (of one product type, if given) over the regions and period."""

    def fetch(self, item: Mapping[str, str], destination: Path) -> None:
        """Retrieve one catalog item to `destination`, verified, unmodified."""
