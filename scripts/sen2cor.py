"""Rule sen2cor: run Sen2Cor on one L1C product and keep the L2A SAFE it writes."""

from soilsat.logs import to_file
from soilsat.optical.process import OpticalSettings
from soilsat.optical.sen2cor import Sen2CorSettings, run_sen2cor, timeout_from_runtime

with to_file(snakemake.log.job) as log:
    required = OpticalSettings.from_config(snakemake.params.sentinel2).needed_bands + ("SCL",)
    safe = run_sen2cor(
        snakemake.input.product,
        snakemake.output[0],
        Sen2CorSettings.from_config(snakemake.params.sen2cor),
        sen2cor_log=snakemake.log.sen2cor,
        threads=snakemake.threads,
        mem_mb=snakemake.resources.mem_mb,
        required_bands=required,
        timeout_s=timeout_from_runtime(snakemake.resources.runtime),
        report_log=snakemake.log.report,
    )
    log.info("%s: Sen2Cor wrote %s", snakemake.wildcards.product, safe.name)
