"""Rule validate_samples: the point-study models on their held-out samples - pytesmo's metrics with intervals
over all samples and per region and soil texture class, and each sample's error for the stratified boxplots."""

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.agreement import IntervalSettings
from soilsat.evaluate.sample_validation import sample_pairs, sample_scores
from soilsat.evaluate.store import write_table
from soilsat.evaluate.strata import sample_strata
from soilsat.figures.common import read_tables
from soilsat.logs import to_file

STRATA = ["region", "texture"]

with to_file(snakemake.log[0]) as log:
    intervals = IntervalSettings.from_config(snakemake.params.validate)
    predictions = read_tables(snakemake.input.predictions, ["model", "variant", "sample", "observed", "predicted"])
    pairs = sample_pairs(predictions, sample_strata(read_dataset(snakemake.input.dataset)))
    scores = sample_scores(pairs, STRATA, intervals, snakemake.params.seed)
    columns = ["name", "model", "variant", "sample", *STRATA, "observed", "predicted", "error"]
    write_table(pairs[columns], snakemake.output.samples)
    write_table(scores, snakemake.output.scores)
    for row in scores[scores["stratified_by"] == "all samples"].itertuples():
        log.info("%s: n %d, R %.3f [%.3f, %.3f], RMSD %.3f", row.name, row.n, row.r, row.r_lower, row.r_upper, row.rmsd)
