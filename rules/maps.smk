# Maps: models fitted on all probes or samples, applied to every pixel of each region's study grid; each map COG
# carries its conformal interval, dissimilarity index and area of applicability as bands after the mapped value,
# calibrated by rule calibrate_map (below) under random and spatially blocked cross-validation.

# The dataset each mapped quantity's models are fitted on.
MAP_DATASETS = {"ssm": "probes", "clay": "samples", "soc": "windows"}


rule map_ssm:
    input:
        dataset=f"{RESULTS}/datasets/probes.nc",
        sentinel1=f"{RESULTS}/index/sentinel1.csv",
        sentinel2=f"{RESULTS}/index/sentinel2.csv",
        static=f"{RESULTS}/static/{{region}}.tif",
        weather=f"{ANCILLARY}/weather",
        calibration=f"{RESULTS}/validation/maps/ssm_calibration.nc",
    output:
        directory(f"{RESULTS}/maps/ssm_{{region}}"),
    log:
        f"{LOGS}/maps/ssm_{{region}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/maps/ssm_{{region}}.tsv"
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        min_valid_fraction=config["sentinel2"]["min_valid_fraction"],
        region=region_config,
        grid=config["grid"],
        ssm_dates=config["maps"]["ssm_dates"],
        window_days=config["extract"]["interpolation_window_days"],
        seed=config["train"]["seed"],
        forest=config["train"]["random_forest"],
        inputs=config["train"]["inputs"],
    script:
        "../scripts/map_ssm.py"


rule map_clay:
    input:
        samples=f"{RESULTS}/datasets/samples.nc",
        sentinel2=f"{RESULTS}/index/sentinel2.csv",
        calibration=f"{RESULTS}/validation/maps/clay_calibration.nc",
    output:
        f"{RESULTS}/maps/clay_{{region}}.tif",
    log:
        f"{LOGS}/maps/clay_{{region}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/maps/clay_{{region}}.tsv"
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        min_valid_fraction=config["sentinel2"]["min_valid_fraction"],
        region=region_config,
        grid=config["grid"],
        seed=config["train"]["seed"],
        forest=config["train"]["random_forest"],
    script:
        "../scripts/map_clay.py"


rule map_soc:
    input:
        windows=f"{RESULTS}/datasets/windows.nc",
        covariates=f"{RESULTS}/covariates/{{region}}.nc",
        calibration=f"{RESULTS}/validation/maps/soc_calibration.nc",
    output:
        f"{RESULTS}/maps/soc_{{region}}.tif",
    log:
        f"{LOGS}/maps/soc_{{region}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/maps/soc_{{region}}.tsv"
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        seed=config["train"]["seed"],
        forest=config["train"]["random_forest"],
    script:
        "../scripts/map_soc.py"


rule calibrate_map:
    input:
        dataset=lambda wildcards: f"{RESULTS}/datasets/{MAP_DATASETS[wildcards.quantity]}.nc",
        ismn=lambda wildcards: (
            f"{ANCILLARY}/ismn"
            if wildcards.quantity == "ssm"
            and config["validate"]["blocked_cv"]["by"] == "network"
            else []
        ),
    output:
        calibration=f"{RESULTS}/validation/maps/{{quantity}}_calibration.nc",
        held_out=f"{RESULTS}/validation/maps/{{quantity}}_held_out.csv",
        protocols=f"{RESULTS}/validation/maps/{{quantity}}_protocols.csv",
        coverage=f"{RESULTS}/validation/maps/{{quantity}}_coverage.csv",
    log:
        f"{LOGS}/validate/calibrate_{{quantity}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/validate/calibrate_{{quantity}}.tsv"
    wildcard_constraints:
        quantity="ssm|clay|soc",
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        validate=config["validate"],
        forest=config["train"]["random_forest"],
        inputs=config["train"]["inputs"],
        seed=config["train"]["seed"],
    script:
        "../scripts/calibrate_map.py"
