"""Rule chip_costs: the bytes the chip route read, in all and per point-observation, beside the whole products'."""

import json

from soilsat.extract.chip_costs import cost_summary, read_costs, summary_table
from soilsat.io import atomic_path
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    costs = read_costs([*snakemake.input.sentinel2, *snakemake.input.sentinel1])
    summary = cost_summary(costs)
    with atomic_path(snakemake.output.json) as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    with atomic_path(snakemake.output.table) as tmp:
        summary_table(summary).to_csv(tmp, index=False)
    log.info("chip route: %s", json.dumps(summary["all"]))
