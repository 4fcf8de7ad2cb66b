# Figures and tables of the reproduced studies, from stored results only (never re-training).

# Model result folders (results/<study>/models/<model>[_<variant>]) each figure family reads;
# a folder holds predictions.csv and metrics.csv in the tidy layout of soilsat.evaluate.store.
SSM_MODEL_RESULTS = [f"{RESULTS}/models/{model}" for model in soil_moisture_models()]
CLAY_MODEL_RESULTS = [
    f"{RESULTS}/models/tziolas_{model}" for model in ("cnn", "rf", "ann")
]
SOC_MODEL_RESULTS = [f"{RESULTS}/models/zhang_{model}" for model in ("cnn_lstm", "rf")]
CNN_ACTIVATIONS = f"{RESULTS}/models/tziolas_cnn/activations.csv"

# The report's category of each method's results.
REPORT_CATEGORIES = {
    "simonsen2021": "Simonsen 2021",
    "tziolas2020": "Tziolas 2020",
    "zhang2022": "Zhang 2022",
    "tsagkatakis2021": "Tsagkatakis 2021",
}

DATA_FIGURES = [
    "correlation_static",
    "correlation_dynamic",
    "violins_static",
    "violins_dynamic",
    "ssm_by_landcover",
    "ssm_by_region",
    "ssm_sigma0",
    "sigma0_by_landcover",
    "ssm_ndwi",
    "probe_indices",
    "probe_weather",
]
MODEL_FIGURES = [
    "regional_mae",
    "error_by_landcover",
    "observed_vs_predicted",
    "observed_vs_predicted_agriculture",
    "weekly_error",
    "probe_predictions",
]


rule compare_models:
    input:
        [f"{folder}/predictions.csv" for folder in SSM_MODEL_RESULTS],
    output:
        metrics=report(
            f"{RESULTS}/metrics.csv",
            caption="report/metrics.rst",
            category="Simonsen 2021",
            subcategory="Models",
            labels={"table": "metrics of every model and product"},
        ),
        rows=f"{RESULTS}/comparison.csv",
        summary=report(
            f"{RESULTS}/tables/comparison.csv",
            caption="report/comparison.rst",
            category="Simonsen 2021",
            subcategory="Models",
            labels={"table": "every model and product on the same probe-days"},
        ),
        markdown=f"{RESULTS}/tables/comparison.md",
    log:
        f"{LOGS}/figures/compare_models.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/compare_models.py"


rule paper_table:
    input:
        paper_table_inputs,
    output:
        markdown=report(
            f"{RESULTS}/tables/paper_{{method}}.md",
            caption="report/paper_table.rst",
            category=lambda wildcards: REPORT_CATEGORIES[wildcards.method],
            subcategory="At a glance: the paper and this run",  # sorts first in the report's menu
            labels={"table": "headline numbers: the paper and this run"},
        ),
        csv=f"{RESULTS}/tables/paper_{{method}}.csv",
    log:
        f"{LOGS}/figures/paper_{{method}}.log",
    wildcard_constraints:
        method="simonsen2021|tziolas2020|zhang2022|tsagkatakis2021",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        provider=config["provider"],
        rehearsal=config["rehearsal"],
    script:
        "../scripts/paper_table.py"


rule table_mae:
    input:
        f"{RESULTS}/metrics.csv",
    output:
        csv=report(
            f"{RESULTS}/tables/mae_{{level}}.csv",
            caption="report/table_mae.rst",
            category="Simonsen 2021",
            subcategory="Models",
            labels={"table": "MAE per {level}"},
        ),
        markdown=f"{RESULTS}/tables/mae_{{level}}.md",
    log:
        f"{LOGS}/figures/table_mae_{{level}}.log",
    wildcard_constraints:
        level="landcover|probe",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/table_mae.py"


rule figure_probe_dataset:
    input:
        f"{RESULTS}/datasets/probes.nc",
    output:
        report(
            f"{RESULTS}/figures/simonsen/{{figure}}.png",
            caption="report/probe_dataset.rst",
            category="Simonsen 2021",
            subcategory="Data",
            labels={"figure": "{figure}"},
        ),
    log:
        f"{LOGS}/figures/simonsen_{{figure}}.log",
    wildcard_constraints:
        figure="|".join(DATA_FIGURES),
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        probe=config["figures"]["probe"],
    script:
        "../scripts/figure_probe_dataset.py"


rule figure_ssm_models:
    input:
        comparison=f"{RESULTS}/comparison.csv",
        predictions=[f"{folder}/predictions.csv" for folder in SSM_MODEL_RESULTS],
    output:
        report(
            f"{RESULTS}/figures/simonsen/{{figure}}.png",
            caption="report/ssm_models.rst",
            category="Simonsen 2021",
            subcategory="Models",
            labels={"figure": "{figure}"},
        ),
    log:
        f"{LOGS}/figures/simonsen_{{figure}}.log",
    wildcard_constraints:
        figure="|".join(MODEL_FIGURES),
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        probe=config["figures"]["probe"],
    script:
        "../scripts/figure_ssm_models.py"


# The map quantities of the point studies: the paper and report category each belongs to, and a panel title.
MAP_QUANTITIES = {
    "clay": (
        "tziolas",
        "Tziolas 2020",
        "Topsoil clay predicted from bare-soil Sentinel-2 spectra",
    ),
    "soc": (
        "zhang",
        "Zhang 2022",
        "Soil organic carbon predicted from covariate windows",
    ),
}


rule figure_map_panels:
    input:
        lambda wildcards: expand(
            f"{RESULTS}/maps/{wildcards.quantity}_{{region}}.tif", region=REGIONS
        ),
    output:
        report(
            f"{RESULTS}/figures/{{paper}}/{{quantity}}_maps.png",
            caption="report/map_panels.rst",
            category=lambda wildcards: MAP_QUANTITIES[wildcards.quantity][1],
            subcategory="Maps",
            labels={"figure": "{quantity} maps"},
        ),
    log:
        f"{LOGS}/figures/{{paper}}_{{quantity}}_maps.log",
    wildcard_constraints:
        paper="tziolas|zhang",
        quantity="clay|soc",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        title=lambda wildcards: MAP_QUANTITIES[wildcards.quantity][2],
    script:
        "../scripts/figure_map_panels.py"


rule figure_quicklook:
    input:
        f"{RESULTS}/maps/{{quantity}}_{{region}}.tif",
    output:
        report(
            f"{RESULTS}/figures/maps/{{quantity}}_{{region}}.png",
            caption="report/quicklook.rst",
            category=lambda wildcards: MAP_QUANTITIES[wildcards.quantity][1],
            subcategory="Maps",
            labels={"map": "{quantity} quick-look", "region": "{region}"},
        ),
    log:
        f"{LOGS}/figures/quicklook_{{quantity}}_{{region}}.log",
    wildcard_constraints:
        quantity="clay|soc",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_quicklook.py"


rule figure_clay_models:
    input:
        [f"{folder}/predictions.csv" for folder in CLAY_MODEL_RESULTS],
    output:
        report(
            f"{RESULTS}/figures/tziolas/observed_vs_predicted.png",
            caption="report/clay_models.rst",
            category="Tziolas 2020",
            subcategory="Models",
            labels={"figure": "observed vs predicted clay"},
        ),
    log:
        f"{LOGS}/figures/tziolas_observed_vs_predicted.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_clay_models.py"


rule figure_clay_filters:
    input:
        activations=CNN_ACTIVATIONS,
        samples=f"{RESULTS}/datasets/samples.nc",
    output:
        report(
            f"{RESULTS}/figures/tziolas/filters.png",
            caption="report/clay_filters.rst",
            category="Tziolas 2020",
            subcategory="Models",
            labels={"figure": "CNN filter interpretation"},
        ),
    log:
        f"{LOGS}/figures/tziolas_filters.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        fraction=config["figures"]["filter_top_fraction"],
    script:
        "../scripts/figure_clay_filters.py"


rule figure_soc_repeats:
    input:
        [f"{folder}/metrics.csv" for folder in SOC_MODEL_RESULTS],
    output:
        report(
            f"{RESULTS}/figures/zhang/repeats.png",
            caption="report/soc_repeats.rst",
            category="Zhang 2022",
            subcategory="Models",
            labels={"figure": "RMSE and R2 over the repeats"},
        ),
    log:
        f"{LOGS}/figures/zhang_repeats.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_soc_repeats.py"


rule figure_ssm_map:
    input:
        maps=f"{RESULTS}/maps/ssm_{{region}}",
        sentinel1=product_rasters("sentinel1", of_region=True),
    output:
        report(
            f"{RESULTS}/figures/simonsen/ssm_map_{{region}}.png",
            caption="report/ssm_map.rst",
            category="Simonsen 2021",
            subcategory="Maps",
            labels={"figure": "SSM map beside sigma0", "region": "{region}"},
        ),
    log:
        f"{LOGS}/figures/ssm_map_{{region}}.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_ssm_map.py"


rule figure_quicklook_ssm:
    input:
        f"{RESULTS}/maps/ssm_{{region}}",
    output:
        report(
            directory(f"{RESULTS}/figures/maps/ssm_{{region}}"),
            patterns=["{name}.png"],
            caption="report/quicklook_ssm.rst",
            category="Simonsen 2021",
            subcategory="Maps",
            labels={"map": "{name}", "region": "{region}"},
        ),
    log:
        f"{LOGS}/figures/quicklook_ssm_{{region}}.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_quicklook_ssm.py"


rule figure_fusion:
    input:
        predictions=f"{RESULTS}/models/tsagkatakis_fusion/predictions.csv",
        patches=f"{RESULTS}/models/tsagkatakis_fusion/patches.csv",
        example=f"{RESULTS}/models/tsagkatakis_fusion/example.nc",
    output:
        scatter=report(
            f"{RESULTS}/figures/tsagkatakis/scatter.png",
            caption="report/fusion_scatter.rst",
            category="Tsagkatakis 2021",
            subcategory="Models",
            labels={"figure": "in-situ vs retrieved soil moisture"},
        ),
        ubrmse=report(
            f"{RESULTS}/figures/tsagkatakis/ubrmse.png",
            caption="report/fusion_ubrmse.rst",
            category="Tsagkatakis 2021",
            subcategory="Models",
            labels={"figure": "ubRMSE per validation patch"},
        ),
        example=report(
            f"{RESULTS}/figures/tsagkatakis/example.png",
            caption="report/fusion_example.rst",
            category="Tsagkatakis 2021",
            subcategory="Models",
            labels={"figure": "inputs and predictions of one patch"},
        ),
    log:
        f"{LOGS}/figures/tsagkatakis.log",
    conda:
        "../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_fusion.py"
