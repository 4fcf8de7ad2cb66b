"""Rule chips_sentinel2: the Sentinel-2 values at one batch's points from their chips, read by byte ranges, and the
bytes each point-observation cost (a rehearsal's from the demo chip archive, served on a loopback HTTP server)."""

from soilsat.demo.chip_archive import served_items
from soilsat.extract.chip_items import read_items, s3_archive
from soilsat.extract.chip_optical import optical_point_values
from soilsat.extract.chip_points import batch_points, point_chip_shape, read_points
from soilsat.io import atomic_path
from soilsat.logs import to_file
from soilsat.optical.process import OpticalSettings

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    points = batch_points(read_points(snakemake.input.points), int(snakemake.wildcards.batch))
    shape = point_chip_shape(params.chips["halo_m"], params.sentinel2["mask_dilation_px"], params.resolution)
    with served_items(read_items(snakemake.input.catalog), snakemake.input.get("served")) as items:
        values, costs = optical_point_values(
            items, points, shape, OpticalSettings.from_config(params.sentinel2), s3=s3_archive(params.chips["s3"])
        )
    with atomic_path(snakemake.output.values) as tmp:
        values.to_parquet(tmp, index=False)
    with atomic_path(snakemake.output.costs) as tmp:
        costs.to_csv(tmp, index=False)
    log.info("batch %s: %d points, %d point-observations", snakemake.wildcards.batch, len(points), len(values))
