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
    threads: config["train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        seed=config["train"]["seed"],
        forest=config["train"]["random_forest"],
    script:
        "../scripts/train_random_forest.py"


rule train_lstm:
    input:
        f"{RESULTS}/datasets/probes.nc",
    output:
        predictions=f"{RESULTS}/models/lstm_{{variant}}/predictions.csv",
        metrics=f"{RESULTS}/models/lstm_{{variant}}/metrics.csv",
    log:
        f"{LOGS}/train/lstm_{{variant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/lstm_{{variant}}.tsv"
    wildcard_constraints:
        variant="full|minimum|agriculture",
    conda:
        "../envs/train.yaml"
    threads: config["train"]["lstm"]["threads"]
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=1 if config["train"]["lstm"]["device"].startswith("cuda") else 0,
    params:
        seed=config["train"]["seed"],
        lstm=config["train"]["lstm"],
    script:
        "../scripts/train_lstm.py"


rule train_baseline:
    input:
        f"{RESULTS}/datasets/probes.nc",
    output:
        predictions=f"{RESULTS}/models/{{baseline}}/predictions.csv",
        metrics=f"{RESULTS}/models/{{baseline}}/metrics.csv",
    log:
        f"{LOGS}/train/{{baseline}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{baseline}}.tsv"
    wildcard_constraints:
        baseline="climatology|change_detection",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=lambda wildcards: config["train"][wildcards.baseline],
    script:
        "../scripts/train_baseline.py"
