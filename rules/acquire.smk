# Acquire: search each source into a catalog (checkpoint), then fetch item by item.
from soilsat.acquire.sources import check_inputs, provider_settings

check_inputs(config)


rule demo_world:
    output:
        archive=directory(f"{RESOURCES}/archive"),
        truth=directory(f"{RESOURCES}/truth"),
    log:
        f"{LOGS}/acquire/demo_world.log",
    benchmark:
        f"{RESULTS}/benchmarks/acquire/demo_world.tsv"
    conda:
        "../envs/acquire.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        period=config["period"],
        regions=config["regions"],
        grid=config["grid"],
        demo=config["demo"],
        sentinel2_level=config["sentinel2"]["level"],
        contents=demo_contents(),
    script:
        "../scripts/demo_world.py"


checkpoint search:
    input:
        unpack(provider_inputs),
    output:
        f"{RESULTS}/catalog/{{source}}.csv",
    log:
        f"{LOGS}/acquire/search_{{source}}.log",
    conda:
        "../envs/acquire.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        provider=config["provider"],
        product_type=lambda wildcards: product_type(
            wildcards.source, config["sentinel2"]["level"]
        ),
        regions=REGIONS,
        period=lambda wildcards: search_period(config, wildcards.source),
        settings=provider_settings(config),
    script:
        "../scripts/search.py"


rule fetch_product:
    input:
        unpack(provider_inputs),
        catalog=f"{RESULTS}/catalog/{{source}}.csv",
    output:
        f"{RESOURCES}/{{source}}/{{product}}.zip",
    log:
        f"{LOGS}/acquire/fetch_{{source}}_{{product}}.log",
    retries: 2
    conda:
        "../envs/acquire.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
        downloads=1,
    params:
        provider=config["provider"],
        settings=provider_settings(config),
    script:
        "../scripts/fetch_product.py"


rule fetch_ancillary:
    input:
        unpack(provider_inputs),
        catalog=f"{RESULTS}/catalog/{{kind}}.csv",
    output:
        directory(f"{ANCILLARY}/{{kind}}"),
    log:
        f"{LOGS}/acquire/fetch_{{kind}}.log",
    retries: 2
    conda:
        "../envs/acquire.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
        downloads=1,
    params:
        provider=config["provider"],
        settings=provider_settings(config),
    script:
        "../scripts/fetch_ancillary.py"


rule fetch_orbit:
    input:
        unpack(provider_inputs),
    output:
        f"{RESOURCES}/orbits/{{product}}.EOF",
    log:
        f"{LOGS}/acquire/fetch_orbit_{{product}}.log",
    retries: 2
    conda:
        "../envs/acquire.yaml"
    threads: 1
    resources:
        mem_mb=300,
        runtime=15,
        downloads=1,
    params:
        provider=config["provider"],
        settings=provider_settings(config),
    script:
        "../scripts/fetch_orbit.py"
