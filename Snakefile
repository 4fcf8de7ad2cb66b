# soilsat: soil moisture and soil properties from Copernicus Sentinel-1/2.
# Run with `snakemake --cores N`; the shipped config.yaml runs the offline demo world.
from snakemake.utils import min_version, validate

min_version("9.0")


# config.yaml is the demo study. A study given with --configfile replaces it rather than extending it, so
# that every key a study file leaves out takes the schema's default, never a demo setting.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


validate(config, "rules/schemas/config.schema.yaml")


report: "rules/report/workflow.rst"


include: "rules/common.smk"
include: "rules/acquire.smk"
include: "rules/sentinel1.smk"
include: "rules/sentinel2.smk"
include: "rules/stac.smk"
include: "rules/extract.smk"
include: "rules/chips.smk"
include: "rules/train.smk"
include: "rules/train_samples.smk"
include: "rules/train_fusion.smk"
include: "rules/maps.smk"
include: "rules/figures.smk"
include: "rules/validate.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
