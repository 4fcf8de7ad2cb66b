# Validation of every study (issue 24): per-station and pooled metrics with confidence intervals on raw values and
# anomalies (pytesmo, as QA4SM), stratified results, triple collocation, conformal intervals with their held-out
# coverage, the map forests' scores under random and spatially blocked cross-validation (from rule calibrate_map in
# rules/maps.smk), AOA figures and the QA4SM export.

import functools

from soilsat.evaluate.targets import MAPPED_QUANTITY, PROBE_METHODS, validation_targets

VALIDATION = f"{RESULTS}/validation"
VALIDATION_FIGURES = f"{RESULTS}/figures/validation"
SAMPLE_METHODS = ["tziolas2020", "zhang2022"]
# The method of each mapped quantity, and the units of each method's target in figures.
QUANTITY_METHOD = {quantity: method for method, quantity in MAPPED_QUANTITY.items()}
TARGET_UNITS = {
    "simonsen2021": "m³/m³",
    "tsagkatakis2021": "m³/m³",
    "tziolas2020": "%",
    "zhang2022": "g/kg",
}
PROBE_DATASETS = {"simonsen2021": "probes", "tsagkatakis2021": "insitu"}
FUSION_RESULTS = f"{RESULTS}/models/tsagkatakis_fusion"
LSTM_VARIANTS = config["train"]["lstm"]["variants"]
# soilsat's own soil-moisture models (triple collocation, QA4SM) and the independent products beside them.
SOILSAT_SSM_MODELS = {
    "simonsen2021": [
        *(f"lstm_{v}" for v in LSTM_VARIANTS),
        *(f"random_forest_{v}" for v in LSTM_VARIANTS),
    ],
    "tsagkatakis2021": ["fusion_cnn"],
}
INDEPENDENT_PRODUCTS = {
    "simonsen2021": config["evaluate"]["products"],
    "tsagkatakis2021": ["spl2smap_s"],
}
# The forest each paper scores under its own protocol: metrics table, model, variant, protocol.
ZHANG = config["train"]["zhang"]
PAPER_PROTOCOLS = {
    "simonsen2021": (
        f"{RESULTS}/metrics.csv",
        "random_forest",
        LSTM_VARIANTS[0],
        "leave-one-probe-out",
    ),
    "tziolas2020": (
        f"{RESULTS}/models/tziolas_rf/metrics.csv",
        "rf",
        config["train"]["tziolas"]["random_forest"]["variants"][0],
        "Kennard-Stone 80/20 split",
    ),
    "zhang2022": (
        f"{RESULTS}/models/zhang_rf/metrics.csv",
        "rf",
        ZHANG["groups"][-1],
        f"{ZHANG['folds']}-fold CV ({ZHANG.get('folds_by', 'random')}) x {ZHANG['repeats']} repeats",
    ),
}


# What `rule all` asks for (rules/common.smk final_outputs): the validation section of every method of the study.
validation_outputs = functools.partial(
    validation_targets, METHODS, RESULTS, REGIONS, INDEPENDENT_PRODUCTS
)

# The predictions tables of every model a method validates, and of the ensembles whose intervals it covers.
METHOD_PREDICTIONS = {
    "simonsen2021": [f"{folder}/predictions.csv" for folder in SSM_MODEL_RESULTS],
    "tsagkatakis2021": [f"{FUSION_RESULTS}/predictions.csv"],
    "tziolas2020": [f"{folder}/predictions.csv" for folder in CLAY_MODEL_RESULTS],
    "zhang2022": [f"{folder}/predictions.csv" for folder in SOC_MODEL_RESULTS],
}
ENSEMBLE_PREDICTIONS = METHOD_PREDICTIONS | {
    "simonsen2021": [
        f"{RESULTS}/models/lstm_{v}/predictions.csv" for v in LSTM_VARIANTS
    ]
}
# The Tziolas bags' own test predictions: the spread of those ensembles.
ENSEMBLE_MEMBERS = {
    "tziolas2020": [f"{folder}/members.csv" for folder in CLAY_MODEL_RESULTS]
}


rule validate_probes:
    input:
        dataset=lambda wildcards: f"{RESULTS}/datasets/{PROBE_DATASETS[wildcards.method]}.nc",
        predictions=lambda wildcards: METHOD_PREDICTIONS[wildcards.method],
        ismn=f"{ANCILLARY}/ismn",
        sentinel1=(
            f"{RESULTS}/index/sentinel1.csv"
            if config["validate"]["matching"] == "sentinel1"
            else []
        ),
    output:
        stations=report(
            f"{VALIDATION}/{{method}}/stations.csv",
            caption="report/validation_stations.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={"table": "per-station metrics with 95 % intervals"},
        ),
        excluded=f"{VALIDATION}/{{method}}/excluded.csv",
        strata=report(
            f"{VALIDATION}/{{method}}/strata.csv",
            caption="report/validation_strata.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={"table": "medians of the per-station metrics by stratum"},
        ),
        collocation=report(
            f"{VALIDATION}/{{method}}/triple_collocation.csv",
            caption="report/validation_collocation.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={"table": "triple collocation per station"},
        ),
    log:
        f"{LOGS}/validate/probes_{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/validate/probes_{{method}}.tsv"
    wildcard_constraints:
        method="|".join(PROBE_METHODS),
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        method=lambda wildcards: wildcards.method,
        validate=config["validate"],
        seed=config["train"]["seed"],
        models=lambda wildcards: SOILSAT_SSM_MODELS[wildcards.method],
        products=lambda wildcards: INDEPENDENT_PRODUCTS[wildcards.method],
        min_triplets=config["validate"]["triple_collocation"]["min_triplets"],
    script:
        "../scripts/validate_probes.py"


rule validate_samples:
    input:
        dataset=lambda wildcards: f"{RESULTS}/datasets/{MAP_DATASETS[MAPPED_QUANTITY[wildcards.method]]}.nc",
        predictions=lambda wildcards: METHOD_PREDICTIONS[wildcards.method],
    output:
        samples=f"{VALIDATION}/{{method}}/samples.csv",
        scores=report(
            f"{VALIDATION}/{{method}}/scores.csv",
            caption="report/validation_scores.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={"table": "metrics with 95 % intervals, overall and by stratum"},
        ),
    log:
        f"{LOGS}/validate/samples_{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/validate/samples_{{method}}.tsv"
    wildcard_constraints:
        method="|".join(SAMPLE_METHODS),
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        validate=config["validate"],
        seed=config["train"]["seed"],
    script:
        "../scripts/validate_samples.py"


rule interval_coverage:
    input:
        predictions=lambda wildcards: ENSEMBLE_PREDICTIONS[wildcards.method],
        members=lambda wildcards: ENSEMBLE_MEMBERS.get(wildcards.method, []),
        map_coverage=lambda wildcards: (
            [f"{VALIDATION}/maps/{MAPPED_QUANTITY[wildcards.method]}_coverage.csv"]
            if wildcards.method in MAPPED_QUANTITY
            else []
        ),
    output:
        report(
            f"{VALIDATION}/{{method}}/coverage.csv",
            caption="report/validation_coverage.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={"table": "conformal interval coverage on held-out data"},
        ),
    log:
        f"{LOGS}/validate/coverage_{{method}}.log",
    wildcard_constraints:
        method="simonsen2021|tziolas2020|zhang2022|tsagkatakis2021",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        method=lambda wildcards: wildcards.method,
        quantity=lambda wildcards: MAPPED_QUANTITY.get(wildcards.method, ""),
        intervals=config["validate"]["intervals"],
        folds=config["validate"]["blocked_cv"]["folds"],
        seed=config["train"]["seed"],
    script:
        "../scripts/interval_coverage.py"


rule validation_protocols:
    input:
        paper=lambda wildcards: PAPER_PROTOCOLS[wildcards.method][0],
        forest=lambda wildcards: f"{VALIDATION}/maps/{MAPPED_QUANTITY[wildcards.method]}_protocols.csv",
    output:
        report(
            f"{VALIDATION}/{{method}}/protocols.csv",
            caption="report/validation_protocols.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={
                "table": "the paper's protocol beside random and blocked cross-validation"
            },
        ),
    log:
        f"{LOGS}/validate/protocols_{{method}}.log",
    wildcard_constraints:
        method="simonsen2021|tziolas2020|zhang2022",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        model=lambda wildcards: PAPER_PROTOCOLS[wildcards.method][1],
        variant=lambda wildcards: PAPER_PROTOCOLS[wildcards.method][2],
        protocol=lambda wildcards: PAPER_PROTOCOLS[wildcards.method][3],
    script:
        "../scripts/validation_protocols.py"


rule qa4sm_export:
    input:
        dataset=lambda wildcards: f"{RESULTS}/datasets/{PROBE_DATASETS[wildcards.method]}.nc",
        predictions=lambda wildcards: METHOD_PREDICTIONS[wildcards.method],
    output:
        f"{RESULTS}/qa4sm/{{method}}.nc",
    log:
        f"{LOGS}/validate/qa4sm_{{method}}.log",
    wildcard_constraints:
        method="|".join(PROBE_METHODS),
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        method=lambda wildcards: wildcards.method,
        study=STUDY,
        models=lambda wildcards: SOILSAT_SSM_MODELS[wildcards.method],
    script:
        "../scripts/qa4sm_export.py"


rule figure_validation_strata:
    input:
        lambda wildcards: (
            f"{VALIDATION}/{wildcards.method}/stations.csv"
            if wildcards.method in PROBE_METHODS
            else f"{VALIDATION}/{wildcards.method}/samples.csv"
        ),
    output:
        report(
            f"{VALIDATION_FIGURES}/{{method}}/strata_{{kind}}.png",
            caption="report/validation_strata_figure.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={"figure": "metrics by stratum ({kind})"},
        ),
    log:
        f"{LOGS}/figures/validation_strata_{{method}}_{{kind}}.log",
    wildcard_constraints:
        method="simonsen2021|tziolas2020|zhang2022|tsagkatakis2021",
        kind="raw|anomaly|errors",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        level=lambda wildcards: (
            "station" if wildcards.method in PROBE_METHODS else "sample"
        ),
        units=lambda wildcards: TARGET_UNITS[wildcards.method],
        title=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
    script:
        "../scripts/figure_validation_strata.py"


rule figure_triple_collocation:
    input:
        f"{VALIDATION}/{{method}}/triple_collocation.csv",
    output:
        report(
            f"{VALIDATION_FIGURES}/{{method}}/triple_collocation.png",
            caption="report/validation_collocation.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={"figure": "triple collocation"},
        ),
    log:
        f"{LOGS}/figures/validation_collocation_{{method}}.log",
    wildcard_constraints:
        method="|".join(PROBE_METHODS),
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_triple_collocation.py"


rule figure_coverage:
    input:
        f"{VALIDATION}/{{method}}/coverage.csv",
    output:
        report(
            f"{VALIDATION_FIGURES}/{{method}}/coverage.png",
            caption="report/validation_coverage.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={"figure": "interval coverage on held-out data"},
        ),
    log:
        f"{LOGS}/figures/validation_coverage_{{method}}.log",
    wildcard_constraints:
        method="simonsen2021|tziolas2020|zhang2022|tsagkatakis2021",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        units=lambda wildcards: TARGET_UNITS[wildcards.method],
    script:
        "../scripts/figure_coverage.py"


rule figure_protocols:
    input:
        f"{VALIDATION}/{{method}}/protocols.csv",
    output:
        report(
            f"{VALIDATION_FIGURES}/{{method}}/protocols.png",
            caption="report/validation_protocols.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="Validation",
            labels={"figure": "protocols side by side"},
        ),
    log:
        f"{LOGS}/figures/validation_protocols_{{method}}.log",
    wildcard_constraints:
        method="simonsen2021|tziolas2020|zhang2022",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        units=lambda wildcards: TARGET_UNITS[wildcards.method],
    script:
        "../scripts/figure_protocols.py"


rule figure_aoa:
    input:
        f"{RESULTS}/maps/{{quantity}}_{{region}}.tif",
    output:
        report(
            f"{VALIDATION_FIGURES}/aoa_{{quantity}}_{{region}}.png",
            caption="report/validation_aoa.rst",
            category=lambda wildcards: REPORT_CATEGORIES[
                QUANTITY_METHOD[wildcards.quantity]
            ],
            subcategory="Validation",
            labels={
                "figure": "{quantity} map: interval and AOA",
                "region": "{region}",
            },
        ),
    log:
        f"{LOGS}/figures/validation_aoa_{{quantity}}_{{region}}.log",
    wildcard_constraints:
        quantity="clay|soc",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_aoa.py"


rule figure_aoa_ssm:
    input:
        f"{RESULTS}/maps/ssm_{{region}}",
    output:
        report(
            directory(f"{VALIDATION_FIGURES}/aoa_ssm_{{region}}"),
            patterns=["{name}.png"],
            caption="report/validation_aoa.rst",
            category="Simonsen 2021",
            subcategory="Validation",
            labels={"figure": "{name}: interval and AOA", "region": "{region}"},
        ),
    log:
        f"{LOGS}/figures/validation_aoa_ssm_{{region}}.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_aoa_ssm.py"
