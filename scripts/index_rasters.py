"""Rule index_rasters: the study's raster index of one source (path, product, region, time, orbit, valid fraction)."""

from soilsat.evaluate.store import write_table
from soilsat.extract.rasters import index_rasters
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    index = index_rasters(snakemake.input, snakemake.wildcards.source)
    write_table(index, snakemake.output[0])
    log.info("%s: %d rasters of %d regions indexed", snakemake.wildcards.source, len(index), index["region"].nunique())
