# Figures and tables of the reproduced studies, from stored results only.


rule metrics_table:
    input:
        model_tables("metrics"),
    output:
        report(
            f"{RESULTS}/metrics.csv",
            caption="report/metrics.rst",
            category="Simonsen 2021",
            subcategory="Metrics",
        ),
    log:
        f"{LOGS}/figures/metrics_table.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/metrics_table.py"


rule figure_observed_vs_predicted:
    input:
        f"{RESULTS}/models/random_forest/predictions.csv",
    output:
        report(
            f"{RESULTS}/figures/observed_vs_predicted.png",
            caption="report/observed_vs_predicted.rst",
            category="Simonsen 2021",
            subcategory="Models",
        ),
    log:
        f"{LOGS}/figures/observed_vs_predicted.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_observed_vs_predicted.py"


rule figure_probe_timeseries:
    input:
        dataset=f"{RESULTS}/datasets/probes.nc",
        predictions=f"{RESULTS}/models/random_forest/predictions.csv",
    output:
        report(
            f"{RESULTS}/figures/probe_timeseries.png",
            caption="report/probe_timeseries.rst",
            category="Simonsen 2021",
            subcategory="Data",
        ),
    log:
        f"{LOGS}/figures/probe_timeseries.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        probe=config["figures"]["probe"],
    script:
        "../scripts/figure_probe_timeseries.py"
