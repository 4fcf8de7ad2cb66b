"""Rule score_product: a soil-moisture product (CSM or ECV_SM) at the probes, as tidy predictions and metrics."""

from pathlib import Path

from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.products import probe_points, product_predictions
from soilsat.evaluate.store import write_results
from soilsat.logs import to_file
from soilsat.reference.sampling import sample_points

with to_file(snakemake.log[0]) as log:
    product = snakemake.wildcards.product
    dataset = read_dataset(snakemake.input.probes)
    files = sorted(Path(snakemake.input.product).glob("*.nc"))
    samples = sample_points(
        files, probe_points(dataset), conversion=snakemake.params.conversion, mask_flagged=snakemake.params.mask_flagged
    )
    log.info(
        "%s: %d daily files, %d probe-days with a value (CSM as m3 m-3 by %r)",
        product,
        len(files),
        len(samples),
        snakemake.params.conversion,
    )
    write_results(
        product_predictions(dataset, samples, product), snakemake.output.predictions, snakemake.output.metrics, log
    )
