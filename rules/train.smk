# Train: soil-moisture models under leave-one-probe-out, with predictions and metrics stored.


rule train_random_forest:
    input:
        f"{RESULTS}/datasets/probes.nc",
    output:
        predictions=f"{RESULTS}/models/random_forest/predictions.csv",
        metrics=f"{RESULTS}/models/random_forest/metrics.csv",
    log:
        f"{LOGS}/train/random_forest.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/random_forest.tsv"
    conda:
        "../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        seed=config["train"]["seed"],
        forest=config["train"]["random_forest"],
    script:
        "../scripts/train_random_forest.py"
