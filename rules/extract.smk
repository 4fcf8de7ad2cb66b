# Extract: static layers on the study grid and the probe x day x feature dataset.


rule static_layers:
    input:
        dem=f"{RESOURCES}/dem",
        landcover=f"{RESOURCES}/landcover",
        soil=f"{RESOURCES}/soil",
    output:
        f"{RESULTS}/static/{{region}}.tif",
    params:
        region=region_config,
        grid=config["grid"],
    log:
        f"{LOGS}/extract/static_{{region}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/extract.yaml"
    script:
        "../scripts/static_layers.py"


rule extract_probes:
    input:
        sentinel1=product_rasters("sentinel1"),
        sentinel2=product_rasters("sentinel2"),
        static=expand(f"{RESULTS}/static/{{region}}.tif", region=REGIONS),
        ismn=f"{RESOURCES}/ismn",
        weather=f"{RESOURCES}/weather",
    output:
        dataset=f"{RESULTS}/datasets/probes.nc",
        table=f"{RESULTS}/datasets/probes.parquet",
    params:
        regions=config["regions"],
        grid=config["grid"],
        period=config["period"],
        extract=config["extract"],
        min_valid_fraction=config["sentinel2"]["min_valid_fraction"],
    log:
        f"{LOGS}/extract/probes.log",
    benchmark:
        f"{RESULTS}/benchmarks/extract/probes.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/extract.yaml"
    script:
        "../scripts/extract_probes.py"
