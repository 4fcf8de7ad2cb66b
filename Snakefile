# soilsat: soil moisture and soil properties from Copernicus Sentinel-1/2.
# Run with `snakemake --cores N`; the shipped config.yaml runs the offline demo world.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "rules/schemas/config.schema.yaml")


report: "rules/report/workflow.rst"


include: "rules/common.smk"
include: "rules/acquire.smk"
include: "rules/sentinel1.smk"
include: "rules/sentinel2.smk"
include: "rules/extract.smk"
include: "rules/train.smk"
include: "rules/train_samples.smk"
include: "rules/train_fusion.smk"
include: "rules/maps.smk"
include: "rules/figures.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
