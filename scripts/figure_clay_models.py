"""Rule figure_clay_models: observed against predicted clay of the Tziolas 2020 models or their ablations (Fig 9)."""

from soilsat.figures.common import read_tables, save
from soilsat.figures.tziolas import PREDICTIONS_COLUMNS, observed_vs_predicted_clay
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    save(observed_vs_predicted_clay(read_tables(snakemake.input, PREDICTIONS_COLUMNS)), snakemake.output[0])
