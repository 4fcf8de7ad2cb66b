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
        raise ProductError(
            "metrics table", f"no rows of level {level!r}; levels are {sorted(metrics['level'].unique())}"
        )
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
        if value is pd.NA or value is None:
            return ""
        if isinstance(value, (float, np.floating)):
            return "" if not np.isfinite(value) else f"{value:.{digits}f}"
        return str(value)

    if isinstance(table.index, pd.MultiIndex):
        table = table.set_axis([" / ".join(map(str, key)) for key in table.index], axis=0).rename_axis(
            " / ".join(str(name) for name in table.index.names)
        )
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


def comparison_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Overall scores of every model per scope on the common probe-days, each repeat-averaged score beside the
    mean and standard deviation of the single repeats' scores, and the score on the model's own rows."""
    overall = metrics[metrics["level"] == "all"]
    common = overall[overall["rows"] == "common"]
    own = overall[overall["rows"] == "own"].set_index(["scope", "model", "variant"])
    rows = []
    for row in common.itertuples(index=False):
        spread = "" if pd.isna(row.mae_repeat_mean) else f"{row.mae_repeat_mean:.4f} ± {row.mae_repeat_sd:.4f}"
        mine = (
            own.loc[(row.scope, row.model, row.variant)] if (row.scope, row.model, row.variant) in own.index else None
        )
        rows.append(
            {
                "scope": row.scope,
                "model": model_label(row.model, row.variant),
                "n": int(row.n),
                "MAE": row.mae,
                "MAE of single repeats (mean ± sd)": spread,
                "RMSE": row.rmse,
                "ubRMSE": row.ubrmse,
                "bias": row.bias,
                "r": row.r,
                "n, own rows": None if mine is None else int(mine["n"]),
                "MAE, own rows": None if mine is None else float(mine["mae"]),
            }
        )
    table = pd.DataFrame(rows).astype({"n, own rows": "Int64"})
    table = table.sort_values("scope", key=lambda scope: scope != "all", kind="stable")  # scope all first
    return table.set_index(["scope", "model"])
