# Sentinel-1: each GRD product becomes calibrated sigma0 on the study grid of each region it covers.


rule sentinel1_sigma0:
    input:
        product=f"{RESOURCES}/sentinel1/{{product}}.zip",
    output:
        f"{RESULTS}/sentinel1/{{region}}/{{product}}.tif",
    log:
        f"{LOGS}/sentinel1/{{region}}/{{product}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sentinel1/{{region}}/{{product}}.tsv"
    conda:
        "../envs/sentinel1.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        region=region_config,
        grid=config["grid"],
        polarisations=config["sentinel1"]["polarisations"],
    script:
        "../scripts/sentinel1.py"
