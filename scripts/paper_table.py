"""Rule paper_table: a study's headline numbers from its paper beside this run's numbers, labelled."""

import pandas as pd

from soilsat.evaluate.published import paper_table, run_label, to_markdown
from soilsat.evaluate.store import write_table
from soilsat.io import atomic_path
from soilsat.logs import to_file

TITLES = {
    "simonsen2021": "Simonsen (2021), soil moisture at probes",
    "tziolas2020": "Tziolas et al. (2020), topsoil clay",
    "zhang2022": "Zhang et al. (2022), soil organic carbon",
    "tsagkatakis2021": "Tsagkatakis et al. (2021), SMAP and Sentinel-1 fusion",
}

with to_file(snakemake.log[0]) as log:
    method = snakemake.wildcards.method
    metrics = pd.concat([pd.read_csv(path) for path in snakemake.input], ignore_index=True)
    table = paper_table(method, metrics)
    label = run_label(snakemake.params.provider, snakemake.params.rehearsal)
    write_table(table, snakemake.output.csv)
    with atomic_path(snakemake.output.markdown) as tmp:
        tmp.write_text(to_markdown(table, label, TITLES[method]))
    log.info("%s: %d quantities, %d with a value in this run", method, len(table), int(table["this run"].notna().sum()))
