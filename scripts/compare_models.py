"""Rule compare_models: every soil-moisture model and product scored on the same probe-days, in one table."""

from soilsat.evaluate.compare import comparison_metrics
from soilsat.evaluate.store import write_table
from soilsat.figures.common import read_tables
from soilsat.figures.simonsen import PREDICTIONS_COLUMNS
from soilsat.figures.tables import comparison_summary
from soilsat.figures.tables import write_table as write_both
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    predictions = read_tables(snakemake.input, (*PREDICTIONS_COLUMNS, "variant"))
    metrics, rows = comparison_metrics(predictions)
    write_table(metrics, snakemake.output.metrics)
    write_table(rows, snakemake.output.rows)
    write_both(comparison_summary(metrics), snakemake.output.summary, snakemake.output.markdown)
    for scope, group in rows.groupby("scope"):
        days = group.groupby(["model", "variant"]).size()
        log.info(
            "scope %s: %d common probe-days scored for each of %d models (%s)",
            scope,
            int(days.iloc[0]),
            len(days),
            ", ".join(f"{m} {v}" for m, v in days.index),
        )
