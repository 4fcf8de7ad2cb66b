"""Rule demo_world: generate the synthetic world and write it as a local archive."""

from pathlib import Path

from soilsat.config import world_spec
from soilsat.demo.archive import build_archive
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    config = {
        "period": snakemake.params.period,
        "regions": snakemake.params.regions,
        "grid": snakemake.params.grid,
        "demo": snakemake.params.demo,
    }
    build_archive(world_spec(config), Path(snakemake.output.archive), Path(snakemake.output.truth))
