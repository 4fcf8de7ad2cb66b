"""Rule demo_chip_archive: the demo archive's Sentinel-2 L2A and Sentinel-1 products unpacked for the chip route,
with their STAC items in a product list per source."""

from pathlib import Path

from soilsat.demo.chip_archive import write_chip_archive
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    output = snakemake.output
    lists = {"sentinel2": Path(output.sentinel2), "sentinel1": Path(output.sentinel1)}
    counts = write_chip_archive(Path(snakemake.input.archive), Path(output.files), lists)
    log.info("demo chip archive in %s: %s", output.files, counts)
