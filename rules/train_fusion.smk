# Tsagkatakis (2021): patches of SMAP brightness temperatures and Sentinel-1 sigma0 on the fine grid with the
# probes inside them, then the fusion CNN trained on the probes and the SMAP L2 9 km product.


rule extract_patches:
    input:
        unpack(fusion_inputs),
        insitu=f"{RESULTS}/datasets/insitu.nc",
    output:
        dataset=f"{RESULTS}/datasets/patches.nc",
        table=f"{RESULTS}/datasets/patches.parquet",
    log:
        f"{LOGS}/extract/patches.log",
    benchmark:
        f"{RESULTS}/benchmarks/extract/patches.tsv"
    conda:
        "../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        regions=config["regions"],
        grid=config["grid"],
        settings=config["train"]["tsagkatakis"],
        smap=config["smap"],
        config_hash=CONFIG_HASH,
    script:
        "../scripts/extract_patches.py"


rule train_fusion:
    input:
        patches=f"{RESULTS}/datasets/patches.nc",
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
    script:
        "../scripts/train_fusion.py"
