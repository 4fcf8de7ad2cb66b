# Extract: the raster index, static layers on the study grid, and the datasets of probes and samples.


rule static_layers:
    input:
        dem=f"{ANCILLARY}/dem",
        landcover=f"{ANCILLARY}/landcover",
        soil=f"{ANCILLARY}/soil",
    output:
        f"{RESULTS}/static/{{region}}.tif",
    log:
        f"{LOGS}/extract/static_{{region}}.log",
    conda:
        "../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        region=region_config,
        grid=config["grid"],
    script:
        "../scripts/static_layers.py"


rule index_rasters:
    input:
        lambda wildcards: product_rasters(wildcards.source)(wildcards),
    output:
        f"{RESULTS}/index/{{source}}.csv",
    log:
        f"{LOGS}/extract/index_{{source}}.log",
    wildcard_constraints:
        source="sentinel1|sentinel2",
    conda:
        "../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    script:
        "../scripts/index_rasters.py"


rule extract_insitu:
    input:
        ismn=f"{ANCILLARY}/ismn",
    output:
        dataset=f"{RESULTS}/datasets/insitu.nc",
        table=f"{RESULTS}/datasets/insitu.parquet",
    log:
        f"{LOGS}/extract/insitu.log",
    conda:
        "../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        regions=config["regions"],
        grid=config["grid"],
        period=config["period"],
        config_hash=CONFIG_HASH,
    script:
        "../scripts/extract_insitu.py"


rule extract_probes:
    input:
        insitu=f"{RESULTS}/datasets/insitu.nc",
        sentinel1=f"{RESULTS}/index/sentinel1.csv",
        sentinel2=f"{RESULTS}/index/sentinel2.csv",
        static=expand(f"{RESULTS}/static/{{region}}.tif", region=REGIONS),
        weather=f"{ANCILLARY}/weather",
    output:
        dataset=f"{RESULTS}/datasets/probes.nc",
        table=f"{RESULTS}/datasets/probes.parquet",
    log:
        f"{LOGS}/extract/probes.log",
    benchmark:
        f"{RESULTS}/benchmarks/extract/probes.tsv"
    conda:
        "../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        regions=config["regions"],
        grid=config["grid"],
        period=config["period"],
        window_days=config["extract"]["interpolation_window_days"],
        sigma0=config["extract"]["sigma0"],
        min_valid_fraction=config["sentinel2"]["min_valid_fraction"],
        polarisations=config["sentinel1"]["polarisations"],
        config_hash=CONFIG_HASH,
    script:
        "../scripts/extract_probes.py"


rule extract_samples:
    input:
        unpack(sample_inputs),
    output:
        dataset=f"{RESULTS}/datasets/samples.nc",
        table=f"{RESULTS}/datasets/samples.parquet",
    log:
        f"{LOGS}/extract/samples.log",
    benchmark:
        f"{RESULTS}/benchmarks/extract/samples.tsv"
    conda:
        "../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        min_valid_fraction=config["sentinel2"]["min_valid_fraction"],
        regions=config["regions"],
        grid=config["grid"],
        samples=config["extract"]["samples"],
        chips=config["chips"],
        config_hash=CONFIG_HASH,
    script:
        "../scripts/extract_samples.py"


rule covariates:
    input:
        unpack(covariate_inputs),
        dem=f"{ANCILLARY}/dem",
        climate=f"{ANCILLARY}/climate",
    output:
        f"{RESULTS}/covariates/{{region}}.nc",
    log:
        f"{LOGS}/extract/covariates_{{region}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/extract/covariates_{{region}}.tsv"
    conda:
        "../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        region=region_config,
        config=lambda wildcards: {
            key: config[key] for key in ("grid", "period", "extract")
        },
        min_valid_fraction=config["sentinel2"]["min_valid_fraction"],
        config_hash=CONFIG_HASH,
    script:
        "../scripts/covariates.py"


rule extract_windows:
    input:
        covariates=expand(f"{RESULTS}/covariates/{{region}}.nc", region=REGIONS),
        lucas=f"{ANCILLARY}/lucas",
    output:
        dataset=f"{RESULTS}/datasets/windows.nc",
        table=f"{RESULTS}/datasets/windows.parquet",
    log:
        f"{LOGS}/extract/windows.log",
    benchmark:
        f"{RESULTS}/benchmarks/extract/windows.tsv"
    conda:
        "../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        regions=config["regions"],
        size=config["extract"]["windows"]["size"],
        config_hash=CONFIG_HASH,
    script:
        "../scripts/extract_windows.py"
