# Sentinel-2: each L2A product (from the archive, or made from L1C by Sen2Cor) becomes
# masked reflectance and indices on the study grid, with a STAC Item beside it.
from soilsat.optical.sen2cor import preflight as sen2cor_preflight  # noqa: E402

if config["sentinel2"]["level"] == "L1C":
    # A missing Sen2Cor fails here, before any job runs.
    sen2cor_preflight(config["sentinel2"]["sen2cor"])


rule sen2cor:
    input:
        product=f"{RESOURCES}/sentinel2/{{product}}.zip",
    output:
        directory(f"{RESULTS}/sen2cor/{{product}}"),
    log:
        job=f"{LOGS}/sen2cor/{{product}}.log",
        sen2cor=f"{LOGS}/sen2cor/{{product}}.sen2cor.log",
        report=f"{LOGS}/sen2cor/{{product}}.report.xml",
    benchmark:
        f"{RESULTS}/benchmarks/sen2cor/{{product}}.tsv"
    conda:
        "../envs/sentinel2.yaml"
    envmodules:
        *config["sentinel2"]["sen2cor"]["envmodules"],
    threads: config["sentinel2"]["sen2cor"]["threads"]
    resources:
        mem_mb=config["sentinel2"]["sen2cor"]["mem_mb"],
        runtime=config["sentinel2"]["sen2cor"]["runtime"],
    params:
        sen2cor=config["sentinel2"]["sen2cor"],
        sentinel2=config["sentinel2"],
    script:
        "../scripts/sen2cor.py"


rule sentinel2_l2a:
    input:
        product=sentinel2_l2a_input,
    output:
        raster=f"{RESULTS}/sentinel2/{{region}}/{{product}}.tif",
        item=f"{RESULTS}/sentinel2/{{region}}/{{product}}.json",
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
        sentinel2=config["sentinel2"],
    script:
        "../scripts/sentinel2.py"


rule sentinel2_all:
    input:
        sentinel2_products,
