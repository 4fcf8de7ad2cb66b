# Train: soil-moisture models under leave-one-probe-out, with predictions and metrics stored.
# The random forest of each LSTM variant reads that variant's inputs and probes (a fair rival).


rule train_random_forest:
    input:
        f"{RESULTS}/datasets/probes.nc",
    output:
        predictions=f"{RESULTS}/models/random_forest_{{variant}}/predictions.csv",
        metrics=f"{RESULTS}/models/random_forest_{{variant}}/metrics.csv",
    log:
        f"{LOGS}/train/random_forest_{{variant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/random_forest_{{variant}}.tsv"
    wildcard_constraints:
        variant="full|minimum|agriculture",
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        seed=config["train"]["seed"],
        forest=config["train"]["random_forest"],
        inputs=config["train"]["inputs"],
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
        inputs=config["train"]["inputs"],
        lstm=config["train"]["lstm"],
        device=config["train"]["lstm"]["device"],
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
        polarisation=config["train"]["inputs"]["polarisations"][0],
    script:
        "../scripts/train_baseline.py"


rule score_product:
    input:
        probes=f"{RESULTS}/datasets/probes.nc",
        product=f"{ANCILLARY}/{{product}}",
    output:
        predictions=f"{RESULTS}/models/{{product}}/predictions.csv",
        metrics=f"{RESULTS}/models/{{product}}/metrics.csv",
    log:
        f"{LOGS}/train/{{product}}.log",
    wildcard_constraints:
        product="csm|ecv_sm",
    conda:
        "../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        conversion=config["csm"]["conversion"],
        mask_flagged=config["ecv_sm"]["mask_flagged"],
    script:
        "../scripts/score_product.py"
