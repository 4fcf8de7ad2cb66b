# Maps: models fitted on all probes or samples, applied to every pixel of each region's study grid; each map COG
# carries its conformal interval, dissimilarity index and area of applicability as bands after the mapped value,
# calibrated by rule calibrate_map (rules/validate.smk).


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
