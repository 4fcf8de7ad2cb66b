"""The papers' headline numbers beside this run's numbers for the same quantities, one table per study.

Each study's report section opens with this table. The paper's values are transcribed from its text and
tables (section named in the `source` column); this run's are computed the way the paper computed them
(for example the thesis' overall MAE is the mean of its per-probe MAEs: Table B1's mean reproduces the
9.33 %, 11.66 % and 32.13 % of its abstract and discussion).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

COLUMNS = ["quantity", "model", "paper", "this run", "source"]

# (quantity, model key, paper value, source); model keys are "<model> <variant>" of soilsat's tables.
SIMONSEN = [
    ("mean of per-probe MAE (m3/m3)", "lstm full", 0.1150, "Table B1, mean over 61 probes"),
    ("mean of per-probe MAE (m3/m3)", "lstm minimum", 0.0932, "Table B1 (9.33 %, abstract)"),
    ("mean of per-probe MAE (m3/m3)", "lstm agriculture", 0.0699, "Table B1, mean over 33 agricultural probes"),
    ("mean of per-probe MAE (m3/m3)", "csm default", 0.3208, "Table B1 (32.13 %, section 5)"),
    ("mean of per-probe MAE (m3/m3)", "ecv_sm default", 0.1152, "Table B1 (11.66 %, section 5)"),
    ("median of per-probe MAE (m3/m3)", "lstm full", 0.0697, "Table B1"),
    ("median of per-probe MAE (m3/m3)", "lstm minimum", 0.0656, "Table B1"),
    ("median of per-probe MAE (m3/m3)", "lstm agriculture", 0.0604, "Table B1"),
    ("median of per-probe MAE (m3/m3)", "csm default", 0.3115, "Table B1"),
    ("median of per-probe MAE (m3/m3)", "ecv_sm default", 0.0794, "Table B1"),
    ("MAE on non-irrigated arable land (m3/m3)", "lstm full", 0.0801, "Table 4"),
    ("MAE on non-irrigated arable land (m3/m3)", "lstm minimum", 0.0696, "Table 4"),
    ("MAE on non-irrigated arable land (m3/m3)", "lstm agriculture", 0.0722, "Table 4"),
    ("MAE on non-irrigated arable land (m3/m3)", "csm default", 0.3306, "Table 4"),
    ("MAE on non-irrigated arable land (m3/m3)", "ecv_sm default", 0.0904, "Table 4"),
    ("MAE on coniferous forest (m3/m3)", "lstm full", 0.1647, "Table 4"),
    ("MAE on coniferous forest (m3/m3)", "lstm minimum", 0.1274, "Table 4"),
    ("MAE on coniferous forest (m3/m3)", "csm default", 0.3024, "Table 4"),
    ("MAE on coniferous forest (m3/m3)", "ecv_sm default", 0.1331, "Table 4"),
    ("Pearson r, all probe-days", "lstm minimum", 0.49, "abstract"),
]
TZIOLAS = [
    ("R2, test set", "cnn default", 0.60, "section 3.3, Fig. 9C"),
    ("RPIQ, test set", "cnn default", 2.02, "section 3.3, Fig. 9C"),
    ("R2, test set", "rf median", 0.55, "section 3.3, Fig. 9B"),
    ("RPIQ, test set", "rf median", 1.91, "section 3.3, Fig. 9B"),
    ("R2, test set", "ann median", 0.44, "section 3.3, Fig. 9A"),
    ("RPIQ, test set", "ann median", 1.71, "section 3.3, Fig. 9A"),
    ("R2, test set", "cnn without_coordinates", 0.53, "section 3.3, Fig. 9F"),
    ("RPIQ, test set", "cnn without_coordinates", 1.87, "section 3.3, Fig. 9F"),
    ("R2, test set", "rf median_without_coordinates", 0.38, "section 3.3, Fig. 9E"),
    ("RPIQ, test set", "rf median_without_coordinates", 1.63, "section 3.3, Fig. 9E"),
    ("R2, test set", "ann median_without_coordinates", 0.41, "section 3.3, Fig. 9D"),
    ("RPIQ, test set", "ann median_without_coordinates", 1.68, "section 3.3, Fig. 9D"),
]
ZHANG = [
    ("RMSE improvement of DL over RF (%)", "static", 2.36, "section 3.2, Fig. 8c"),
    ("RMSE improvement of DL over RF (%)", "static_phenology", 1.89, "section 3.2, Fig. 8c"),
    ("RMSE improvement of DL over RF (%)", "static_EVI", 2.83, "section 3.2, Fig. 8c"),
    ("RMSE improvement of DL over RF (%)", "static_phenology_EVI", 1.43, "section 3.2, Fig. 8c"),
    ("R2 improvement of DL over RF (%)", "static", 16.59, "section 3.2, Fig. 8d"),
    ("R2 improvement of DL over RF (%)", "static_phenology", 6.01, "section 3.2, Fig. 8d"),
    ("R2 improvement of DL over RF (%)", "static_EVI", 15.05, "section 3.2, Fig. 8d"),
    ("R2 improvement of DL over RF (%)", "static_phenology_EVI", 4.72, "section 3.2, Fig. 8d"),
]
# Tsagkatakis et al. give their average ubRMSEs only inside Figs. 4-6, not in the text: no value to transcribe. Both
# models are scored on the same probe values (those with a SMAP/Sentinel-1 L2 1 km retrieval).
TSAGKATAKIS = [
    ("ubRMSE, validation probes (m3/m3)", "fusion_cnn", np.nan, "Fig. 6: lower than the L2 product on most patches"),
    ("ubRMSE, validation probes (m3/m3)", "spl2smap_s", np.nan, "Fig. 6 (the SMAP/Sentinel-1 L2 1 km product)"),
    ("mean ubRMSE of the validation patches (m3/m3)", "fusion_cnn", np.nan, "Fig. 6, the average in its legend"),
    ("mean ubRMSE of the validation patches (m3/m3)", "spl2smap_s", np.nan, "Fig. 6, the average in its legend"),
    ("ubRMSE, training probes (m3/m3)", "fusion_cnn", np.nan, "Fig. 4 (training set)"),
    ("ubRMSE, training probes (m3/m3)", "spl2smap_s", np.nan, "Fig. 4 (training set)"),
]


def _key(table: pd.DataFrame) -> pd.Series:
    """'<model> <variant>' of each row."""
    return table["model"].astype(str) + " " + table["variant"].astype(str)


def simonsen_run(metrics: pd.DataFrame) -> dict[tuple[str, str], float]:
    """This run's values of the thesis' quantities, from the comparison table (common probe-days)."""
    common = metrics[metrics["rows"] == "common"]
    # the agriculture variants from their own scope, every other model from scope `all`
    common = common[(common["scope"] == "agriculture") == (common["variant"].astype(str) == "agriculture")]
    keyed = common.assign(key=_key(common))
    out: dict[tuple[str, str], float] = {}
    for key, rows in keyed.groupby("key"):
        probes = rows[rows["level"] == "probe"]["mae"]
        out[("mean of per-probe MAE (m3/m3)", key)] = float(probes.mean())
        out[("median of per-probe MAE (m3/m3)", key)] = float(probes.median())
        covers = rows[rows["level"] == "landcover"].set_index("group")["mae"]
        covers.index = [str(int(float(g))) for g in covers.index]
        out[("MAE on non-irrigated arable land (m3/m3)", key)] = float(covers.get("211", np.nan))
        out[("MAE on coniferous forest (m3/m3)", key)] = float(covers.get("312", np.nan))
        overall = rows[rows["level"] == "all"]["r"]
        out[("Pearson r, all probe-days", key)] = float(overall.iloc[0]) if len(overall) else np.nan
    return out


def tziolas_run(metrics: pd.DataFrame) -> dict[tuple[str, str], float]:
    """This run's R2 and RPIQ of every clay model variant on the test set."""
    overall = metrics[metrics["level"] == "all"]
    out: dict[tuple[str, str], float] = {}
    for key, row in zip(_key(overall), overall.itertuples()):
        out[("R2, test set", key)] = float(row.r2)
        out[("RPIQ, test set", key)] = float(row.rpiq)
    return out


def zhang_run(metrics: pd.DataFrame) -> dict[tuple[str, str], float]:
    """This run's relative improvement of the CNN-LSTM over the RF per covariate group (means over repeats)."""
    repeats = metrics[metrics["level"] == "repeat"]
    means = repeats.groupby(["model", "variant"])[["rmse", "r2"]].mean()
    out: dict[tuple[str, str], float] = {}
    for group in means.index.get_level_values("variant").unique():
        if ("cnn_lstm", group) not in means.index or ("rf", group) not in means.index:
            continue
        dl, rf = means.loc[("cnn_lstm", group)], means.loc[("rf", group)]
        out[("RMSE improvement of DL over RF (%)", group)] = float(100 * (rf["rmse"] - dl["rmse"]) / rf["rmse"])
        out[("R2 improvement of DL over RF (%)", group)] = float(100 * (dl["r2"] - rf["r2"]) / abs(rf["r2"]))
    return out


def tsagkatakis_run(metrics: pd.DataFrame) -> dict[tuple[str, str], float]:
    """This run's ubRMSE of the fusion CNN and of the SMAP/Sentinel-1 L2 1 km product over the validation and
    training probes, and the mean of their ubRMSE over the validation patches."""
    out: dict[tuple[str, str], float] = {}
    overall = metrics[metrics["level"] == "all"]
    for row in overall.itertuples():
        out[(f"ubRMSE, {row.split} probes (m3/m3)", str(row.variant))] = float(row.ubrmse)
    patches = metrics[(metrics["level"] == "patch") & (metrics["split"] == "validation")]
    for variant, rows in patches.groupby("variant"):
        out[("mean ubRMSE of the validation patches (m3/m3)", str(variant))] = float(rows["ubrmse"].mean())
    return out


PUBLISHED: dict[str, tuple[list, Callable[[pd.DataFrame], dict]]] = {
    "simonsen2021": (SIMONSEN, simonsen_run),
    "tziolas2020": (TZIOLAS, tziolas_run),
    "zhang2022": (ZHANG, zhang_run),
    "tsagkatakis2021": (TSAGKATAKIS, tsagkatakis_run),
}


def paper_table(method: str, metrics: pd.DataFrame) -> pd.DataFrame:
    """The paper's headline numbers and this run's, quantity by quantity."""
    published, compute = PUBLISHED[method]
    ours = compute(metrics)
    rows = [
        {"quantity": q, "model": m, "paper": v, "this run": ours.get((q, m), np.nan), "source": s}
        for q, m, v, s in published
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def run_label(provider: str, rehearsal: Mapping) -> str:
    """What the numbers of this run come from: a rehearsal on synthetic data, or real data."""
    if provider == "demo":
        what = f"a rehearsal of {rehearsal['study_file']}" if rehearsal.get("study_file") else "the demo world"
        return (
            f"This run: {what}, on synthetic data. Its numbers test the workflow; they are not comparable with "
            "the paper's."
        )
    return "This run: real data."


def to_markdown(table: pd.DataFrame, label: str, title: str) -> str:
    """The table as Markdown under a title and the label of the run."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "n/a" if not np.isfinite(value) else f"{value:.4g}"
        return str(value)

    lines = [
        f"# {title}",
        "",
        f"**{label}**",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---", "---", "---:", "---:", "---"]) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"
