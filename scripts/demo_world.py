"""Rule demo_world: generate the synthetic world and write it as a local archive."""

from pathlib import Path

from soilsat.demo.archive import Contents, build_archive
from soilsat.demo.world import WorldSpec
from soilsat.logs import to_file

with to_file(snakemake.log[0]):
    config = {
        "period": snakemake.params.period,
        "regions": snakemake.params.regions,
        "grid": snakemake.params.grid,
        "demo": snakemake.params.demo,
    }
    # L2A always (it carries the truth reflectance); L1C only for the Sen2Cor route, which reads it.
    levels = ("L2A", "L1C") if snakemake.params.sentinel2_level == "L1C" else ("L2A",)
    build_archive(
        WorldSpec.from_config(config),
        Path(snakemake.output.archive),
        Path(snakemake.output.truth),
        levels,
        workers=snakemake.threads,
        contents=Contents.of(**snakemake.params.contents),
    )
