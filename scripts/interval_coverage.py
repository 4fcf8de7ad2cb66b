"""Rule interval_coverage: how often conformal intervals cover held-out observations, for every model of a study
(scaled by its members' spread) and for its map forest (from the blocked cross-validation of calibrate_map)."""

import pandas as pd

from soilsat.evaluate.conformal import ConformalSettings
from soilsat.evaluate.ensembles import coverage_table, study_ensembles
from soilsat.evaluate.store import write_table
from soilsat.figures.common import read_tables
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    settings = ConformalSettings.from_config(params.intervals)
    levels = sorted({*settings.levels, settings.map_level})
    predictions = read_tables(snakemake.input.predictions, ["model", "variant", "observed", "predicted"])
    members = read_tables(snakemake.input.members, ["model", "variant", "bag"]) if snakemake.input.members else None
    ensembles = study_ensembles(params.method, predictions, members, params.folds, params.seed)
    table = coverage_table(ensembles, ["model", "variant"], "group", levels).assign(source="held-out predictions")
    if snakemake.input.map_coverage:
        forest = pd.read_csv(snakemake.input.map_coverage[0]).assign(
            model="map random forest",
            variant=params.quantity,
            scaling="tree spread",
            source="map forest, blocked cross-validation",
        )
        table = pd.concat([table, forest[table.columns]], ignore_index=True)
    write_table(table, snakemake.output[0])
    nominal = table[table["level"] == settings.map_level]
    for row in nominal.itertuples():
        log.info(
            "%s %s: %.0f %% interval covers %.1f %% of %d held-out values (%s)",
            row.model,
            row.variant,
            100 * row.level,
            100 * row.coverage,
            row.n,
            row.scaling,
        )
