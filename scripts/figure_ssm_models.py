"""Rule figure_ssm_models: one figure of the stored soil-moisture predictions of every model (Simonsen Figs 22-27)."""

from soilsat.figures.common import read_tables, save
from soilsat.figures.simonsen import MODEL_FIGURES, PREDICTIONS_COLUMNS
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    comparison = read_tables(snakemake.input.comparison, (*PREDICTIONS_COLUMNS, "scope"))
    predictions = read_tables(snakemake.input.predictions, PREDICTIONS_COLUMNS)
    figure = MODEL_FIGURES[snakemake.wildcards.figure](comparison, predictions, snakemake.params.probe)
    save(figure, snakemake.output[0])
    log.info("figure %s of %d models written", snakemake.wildcards.figure, predictions["model"].nunique())
