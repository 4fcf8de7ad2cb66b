"""Rule validation_protocols: one model family under the paper's protocol beside the map forest under random
and spatially blocked cross-validation, so a reader sees how much the random protocols flatter."""

import pandas as pd

from soilsat.evaluate.store import write_table
from soilsat.logs import to_file

COLUMNS = ["protocol", "model", "folds", "n", "mae", "rmse", "ubrmse", "bias", "r", "r2", "rpiq"]

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    paper = pd.read_csv(snakemake.input.paper)
    paper = paper[
        (paper["level"] == "all") & (paper["model"] == params.model) & (paper["variant"].astype(str) == params.variant)
    ]
    if "repeat" in paper:
        paper = paper[paper["repeat"].astype(str).isin(["mean", "nan"])]
    if "rows" in paper:
        paper = paper[(paper["rows"] == "own") & (paper["scope"] == "all")]
    paper = paper.head(1).assign(protocol=f"paper: {params.protocol}", model=f"{params.model} ({params.variant})")
    forest = pd.read_csv(snakemake.input.forest).assign(model="map random forest")
    blocked = f"blocked by {forest['blocked_by'].iloc[0]}"
    if (forest["blocks"] < 2).any():
        blocked += " (a single block: random folds)"
    forest["protocol"] = forest["protocol"].map({"random": "random k-fold", "blocked": blocked})
    table = pd.concat([paper.assign(folds=pd.NA), forest], ignore_index=True)[COLUMNS]
    write_table(table, snakemake.output[0])
    for row in table.itertuples():
        log.info("%s, %s: RMSE %.4f, R2 %.3f, n %d", row.protocol, row.model, row.rmse, row.r2, row.n)
