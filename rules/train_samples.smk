# Train: the point-study models on the sample datasets (Tziolas 2020 clay, Zhang 2022 organic carbon).


rule train_tziolas_cnn:
    input:
        f"{RESULTS}/datasets/samples.nc",
    output:
        predictions=f"{RESULTS}/models/tziolas_cnn/predictions.csv",
        metrics=f"{RESULTS}/models/tziolas_cnn/metrics.csv",
        activations=f"{RESULTS}/models/tziolas_cnn/activations.csv",
        members=f"{RESULTS}/models/tziolas_cnn/members.csv",
    log:
        f"{LOGS}/train/tziolas_cnn.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/tziolas_cnn.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=180,
    params:
        seed=config["train"]["seed"],
        tziolas=config["train"]["tziolas"],
    script:
        "../scripts/train_tziolas_cnn.py"


rule train_tziolas_rf:
    input:
        f"{RESULTS}/datasets/samples.nc",
    output:
        predictions=f"{RESULTS}/models/tziolas_rf/predictions.csv",
        metrics=f"{RESULTS}/models/tziolas_rf/metrics.csv",
        search=f"{RESULTS}/models/tziolas_rf/grid_search.csv",
        members=f"{RESULTS}/models/tziolas_rf/members.csv",
    log:
        f"{LOGS}/train/tziolas_rf.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/tziolas_rf.tsv"
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=2000,
        runtime=180,
    params:
        seed=config["train"]["seed"],
        tziolas=config["train"]["tziolas"],
        forest=config["train"]["tziolas"]["random_forest"],
    script:
        "../scripts/train_tziolas_rf.py"


rule train_tziolas_ann:
    input:
        f"{RESULTS}/datasets/samples.nc",
    output:
        predictions=f"{RESULTS}/models/tziolas_ann/predictions.csv",
        metrics=f"{RESULTS}/models/tziolas_ann/metrics.csv",
        members=f"{RESULTS}/models/tziolas_ann/members.csv",
    log:
        f"{LOGS}/train/tziolas_ann.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/tziolas_ann.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        seed=config["train"]["seed"],
        tziolas=config["train"]["tziolas"],
        ann=config["train"]["tziolas"]["ann"],
    script:
        "../scripts/train_tziolas_ann.py"


rule train_zhang:
    input:
        f"{RESULTS}/datasets/windows.nc",
    output:
        predictions=f"{RESULTS}/models/zhang_{{model}}/predictions.csv",
        metrics=f"{RESULTS}/models/zhang_{{model}}/metrics.csv",
    log:
        f"{LOGS}/train/zhang_{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/zhang_{{model}}.tsv"
    wildcard_constraints:
        model="cnn_lstm|rf",
    conda:
        "../envs/train.yaml"
    threads: lambda wildcards: 1 if wildcards.model == "cnn_lstm" else config["train"]["threads"]
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        seed=config["train"]["seed"],
        zhang=config["train"]["zhang"],
        forest=config["train"]["zhang"]["random_forest"],
    script:
        "../scripts/train_zhang.py"
