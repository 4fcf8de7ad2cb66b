"""Rule figure_validation_strata: per-station (probe studies) or per-sample (point studies) agreement by region,
network, land cover, soil texture and climate, as boxplots per model."""

import numpy as np

from soilsat.evaluate.stations import POOLED
from soilsat.evaluate.strata import STRATA
from soilsat.figures.common import read_tables, save
from soilsat.figures.validation import strata_boxplots
from soilsat.logs import to_file

MAX_MODELS = 6  # beyond this many, each model family shows its first variant only

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    kind = snakemake.wildcards.kind
    if params.level == "station":
        table = read_tables(snakemake.input[0], ["scope", "name", "kind", "probe", "r", "ubrmsd", "bias"])
        table = table[(table["probe"] != POOLED) & (table["scope"] == "all") & (table["kind"] == kind)]
        names = list(dict.fromkeys(table["name"]))
        metrics = ["r", "ubrmsd", "bias"]
        title = f"{params.title}: per-station metrics, {kind} values, by stratum"
    else:
        table = read_tables(snakemake.input[0], ["name", "model", "variant", "sample", "error"])
        table = table.assign(abs_error=np.abs(table["error"]))
        names = list(dict.fromkeys(table["name"]))
        if len(names) > MAX_MODELS:
            names = list(dict.fromkeys(table.drop_duplicates("model")["name"]))
        metrics = ["abs_error", "error"]
        title = f"{params.title}: error of each held-out sample by stratum"
    save(strata_boxplots(table, names, STRATA, metrics, params.units, title), snakemake.output[0])
    log.info("%d models by %s", len(names), ", ".join(s for s in STRATA if s in table))
