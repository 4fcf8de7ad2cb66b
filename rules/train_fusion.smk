# Train: the Tsagkatakis (2021) fusion CNN on fine sigma0 and coarse radiometer patches (demo world: SMAP is
# not acquired yet, so a study naming SMAP rehearses on the demo world's coarse product and its log says so).


rule train_fusion:
    input:
        insitu=f"{RESULTS}/datasets/insitu.nc",
        sentinel1=f"{RESULTS}/index/sentinel1.csv",
        coarse=expand(f"{RESOURCES}/coarse/{{region}}.nc", region=REGIONS),
    output:
        predictions=f"{RESULTS}/models/tsagkatakis_fusion/predictions.csv",
        metrics=f"{RESULTS}/models/tsagkatakis_fusion/metrics.csv",
        patches=f"{RESULTS}/models/tsagkatakis_fusion/patches.csv",
        example=f"{RESULTS}/models/tsagkatakis_fusion/example.nc",
    log:
        f"{LOGS}/train/tsagkatakis_fusion.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/tsagkatakis_fusion.tsv"
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        seed=config["train"]["seed"],
        settings=config["train"]["tsagkatakis"],
        regions=REGIONS,
        grid_resolution=config["grid"]["resolution"],
        coarse_source=(
            "the demo world's coarse product, in place of SMAP"
            if config["smap"]["enabled"]
            else "the demo world's coarse product"
        ),
    script:
        "../scripts/train_fusion.py"
