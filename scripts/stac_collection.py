"""Rule stac_collection: the study's STAC Collection, a child per source and region linking its Items."""

from pathlib import Path

from soilsat.logs import to_file
from soilsat.stac.collection import write_study

with to_file(snakemake.log[0]) as log:
    # an Item lies at <results>/<source>/<region>/<product>.json
    items = {
        (source, region): sorted(p for p in snakemake.input if Path(p).parent.parts[-2:] == (source, region))
        for source in snakemake.params.sources
        for region in snakemake.params.regions
    }
    description = (
        f"soilsat outputs of study {snakemake.params.study}: {', '.join(snakemake.params.sources)} on the study "
        f"grids of {', '.join(snakemake.params.regions)}. Contains modified Copernicus Sentinel data."
    )
    paths = write_study(snakemake.params.study, description, items, Path(snakemake.output.collection).parent)
    log.info("STAC Collection of %d Items in %d children: %s", sum(map(len, items.values())), len(paths) - 1, paths[0])
