"""What the chip route cost on the wire, beside what whole-product downloads would have cost: totals per source
and in all from the batches' cost tables (one row per point-observation, soilsat.extract.chip_optical.COST_COLUMNS).

An item read for several points (or batches) counts its whole-product bytes once. Whole-product bytes come
from the items' `file:size`; when any item used does not state them they are unknown (None), not under-counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from soilsat.extract.chip_optical import COST_COLUMNS

SUMMARY_KEYS = (
    "point_observations",
    "items",
    "bytes_read",
    "bytes_per_observation",
    "bytes_whole_products",
    "bytes_ratio",
)


def read_costs(paths: Sequence[str]) -> pd.DataFrame:
    """The cost tables of every batch, one after the other; ValueError naming a file that is not one."""
    frames = []
    for path in paths:
        frame = pd.read_csv(path, dtype={"point": str, "item": str})
        missing = [c for c in COST_COLUMNS if c not in frame]
        if missing:
            raise ValueError(f"{path}: not a chip cost table (no columns {missing})")
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=list(COST_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _totals(costs: pd.DataFrame) -> dict[str, float | int | None]:
    """The summary of one set of point-observations."""
    n = len(costs)
    read = int(costs["bytes_read"].sum()) if n else 0
    items = costs.drop_duplicates("item")
    whole = None if items["item_bytes"].isna().any() else int(items["item_bytes"].sum())
    return {
        "point_observations": n,
        "items": len(items),
        "bytes_read": read,
        "bytes_per_observation": read / n if n else None,
        "bytes_whole_products": whole,
        "bytes_ratio": read / whole if whole else None,
    }


def cost_summary(costs: pd.DataFrame) -> dict[str, dict[str, float | int | None]]:
    """The totals of each source (sentinel1, sentinel2) and of all of them ('all')."""
    out = {str(s): _totals(part) for s, part in costs.groupby("source")}
    everything = _totals(costs)
    if any(v["bytes_whole_products"] is None for v in out.values()):
        everything["bytes_whole_products"] = everything["bytes_ratio"] = None
    else:
        whole = sum(int(v["bytes_whole_products"] or 0) for v in out.values())
        everything["bytes_whole_products"] = whole
        everything["bytes_ratio"] = everything["bytes_read"] / whole if whole else None  # type: ignore[operator]
    everything["items"] = sum(int(v["items"] or 0) for v in out.values())
    out["all"] = everything
    return out


def summary_table(summary: dict[str, dict[str, float | int | None]]) -> pd.DataFrame:
    """The summary as a table, one row per source (and 'all')."""
    return pd.DataFrame([{"source": s, **{k: v.get(k) for k in SUMMARY_KEYS}} for s, v in summary.items()])
