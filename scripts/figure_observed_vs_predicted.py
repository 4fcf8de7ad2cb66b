"""Rule figure_observed_vs_predicted: hexbin of observed against predicted soil moisture."""

import pandas as pd

from soilsat.figures.common import save
from soilsat.figures.simonsen import observed_vs_predicted
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    save(observed_vs_predicted(pd.read_csv(snakemake.input[0])), snakemake.output[0])
