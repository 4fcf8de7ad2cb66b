"""Tables after Simonsen (2021): MAE per land cover and model (Table 4) and per probe (Table B1)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from soilsat.errors import ProductError
from soilsat.figures.common import landcover_name, model_keys, model_label, select_model
from soilsat.io import atomic_path


def mae_table(metrics: pd.DataFrame, level: str) -> pd.DataFrame:
    """MAE (m3/m3) per group of one level ('landcover' or 'probe') in rows and per model (variant) in columns.

    Every column is scored on the common probe-days of the comparison (soilsat.evaluate.compare): the
    models covering every probe from scope `all`, the agriculture variants from scope `agriculture`."""
    rows = metrics[(metrics["level"] == level) & (metrics["rows"] == "common")]
    if rows.empty:
        raise ProductError("metrics table", f"no rows of level {level!r}; levels are {sorted(metrics['level'].unique())}")
    everywhere = rows[(rows["scope"] == "all")]
    farmed = rows[(rows["scope"] == "agriculture") & (rows["variant"].astype(str) == "agriculture")]
    rows = pd.concat([everywhere, farmed], ignore_index=True)
    keys = model_keys(rows)
    columns = {}
    for model, variant in keys:
        chosen = select_model(rows, model, variant)
        columns[model_label(model, variant)] = chosen.set_index(chosen["group"].astype(str))["mae"]
    table = pd.DataFrame(columns).sort_index()
    first = select_model(everywhere, *model_keys(everywhere)[0])
    table.insert(0, "n", first.set_index(first["group"].astype(str))["n"].reindex(table.index).astype("Int64"))
    if level == "landcover":
        table.index = [landcover_name(code) for code in table.index]
    table.index.name = "land cover" if level == "landcover" else level
    return table


def to_markdown(table: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub Markdown table with the index as first column and floats rounded."""
    # Written here so the figures env needs no `tabulate`, which pandas.DataFrame.to_markdown requires.
    def cell(value: object) -> str:
        if isinstance(value, (float, np.floating)):
            return "" if not np.isfinite(value) else f"{value:.{digits}f}"
        return str(value)

    header = [table.index.name or "", *map(str, table.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|"]
    for key, row in table.iterrows():
        lines.append("| " + " | ".join([str(key), *(cell(v) for v in row)]) + " |")
    return "\n".join(lines) + "\n"


def write_table(table: pd.DataFrame, csv_path: str | os.PathLike, markdown_path: str | os.PathLike) -> None:
    """Write a table as CSV and as Markdown, each atomically."""
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, float_format="%.5f")
    with atomic_path(markdown_path) as tmp:
        tmp.write_text(to_markdown(table))
