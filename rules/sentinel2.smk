# Sentinel-2: each L2A product becomes masked reflectance and indices on the study grid.


rule sentinel2_l2a:
    input:
        product=f"{RESOURCES}/sentinel2/{{product}}.zip",
    output:
        f"{RESULTS}/sentinel2/{{region}}/{{product}}.tif",
    log:
        f"{LOGS}/sentinel2/{{region}}/{{product}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sentinel2/{{region}}/{{product}}.tsv"
    conda:
        "../envs/sentinel2.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        region=region_config,
        grid=config["grid"],
        masks=config["sentinel2"],
    script:
        "../scripts/sentinel2.py"
