# Chips: the point study's route at published scale. Each LUCAS point gets a chip (a small grid around it in its
# UTM zone); a STAC search finds the items over the points; one job per batch of points reads the chips' pixels by
# byte ranges (Sentinel-2, then Sentinel-1 near each bare-soil date, with each product's precise orbit file) and
# counts the bytes; extract_samples pairs them
# as it pairs the region rasters. A rehearsal (demo.chip_archive) reads the demo archive's products instead, served by
# each chip job on a loopback HTTP server.
CHIPS = config["chips"]


rule demo_chip_archive:
    input:
        archive=f"{RESOURCES}/archive",
    output:
        files=directory(f"{RESOURCES}/chip_archive/files"),
        sentinel2=f"{RESOURCES}/chip_archive/sentinel2.json",
        sentinel1=f"{RESOURCES}/chip_archive/sentinel1.json",
    log:
        f"{LOGS}/chips/demo_chip_archive.log",
    conda:
        "../envs/chips.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/demo_chip_archive.py"


checkpoint chip_points:
    input:
        lucas=f"{ANCILLARY}/lucas",
    output:
        f"{RESULTS}/chips/points.csv",
    log:
        f"{LOGS}/chips/points.log",
    conda:
        "../envs/chips.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        chips=CHIPS,
        grid=config["grid"],
        regions=config["regions"],
        mask_dilation_px=config["sentinel2"]["mask_dilation_px"],
    script:
        "../scripts/chip_points.py"


rule chip_search:
    input:
        unpack(chip_search_inputs),
    output:
        f"{RESULTS}/chips/items/{{source}}.json",
    log:
        f"{LOGS}/chips/search_{{source}}.log",
    wildcard_constraints:
        source="sentinel1|sentinel2",
    conda:
        "../envs/chips.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        chips=CHIPS,
        period=config["period"],
    script:
        "../scripts/chip_search.py"


rule chips_sentinel2:
    input:
        unpack(chip_read_inputs),
        points=f"{RESULTS}/chips/points.csv",
        catalog=f"{RESULTS}/chips/items/sentinel2.json",
    output:
        values=f"{RESULTS}/chips/sentinel2/batch_{{batch}}.parquet",
        costs=f"{RESULTS}/chips/sentinel2/batch_{{batch}}_costs.csv",
    log:
        f"{LOGS}/chips/sentinel2_{{batch}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/chips/sentinel2_{{batch}}.tsv"
    conda:
        "../envs/chips.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        chips=CHIPS,
        sentinel2=config["sentinel2"],
        resolution=config["grid"]["resolution"],
    script:
        "../scripts/chips_sentinel2.py"


checkpoint chip_radar_requests:
    input:
        points=f"{RESULTS}/chips/points.csv",
        catalog=f"{RESULTS}/chips/items/sentinel1.json",
        optical=f"{RESULTS}/chips/sentinel2/batch_{{batch}}.parquet",
    output:
        f"{RESULTS}/chips/sentinel1/batch_{{batch}}_requests.json",
    log:
        f"{LOGS}/chips/sentinel1_requests_{{batch}}.log",
    conda:
        "../envs/chips.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        samples=config["extract"]["samples"],
        min_valid_fraction=config["sentinel2"]["min_valid_fraction"],
    script:
        "../scripts/chip_radar_requests.py"


rule chips_sentinel1:
    input:
        unpack(chip_read_inputs),
        unpack(chip_orbit_inputs),
        points=f"{RESULTS}/chips/points.csv",
        catalog=f"{RESULTS}/chips/items/sentinel1.json",
        requests=chip_radar_requests_file,
        dem=f"{ANCILLARY}/dem",
    output:
        values=f"{RESULTS}/chips/sentinel1/batch_{{batch}}.parquet",
        costs=f"{RESULTS}/chips/sentinel1/batch_{{batch}}_costs.csv",
    log:
        f"{LOGS}/chips/sentinel1_{{batch}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/chips/sentinel1_{{batch}}.tsv"
    conda:
        "../envs/chips.yaml"
    threads: config["sentinel1"]["threads"]
    resources:
        mem_mb=4000,
        runtime=480,
    params:
        chips=CHIPS,
        sentinel1=config["sentinel1"],
        dem=config["dem"],
        mask_dilation_px=config["sentinel2"]["mask_dilation_px"],
        resolution=config["grid"]["resolution"],
    script:
        "../scripts/chips_sentinel1.py"


rule chip_costs:
    input:
        sentinel2=lambda wildcards: chip_batch_files("sentinel2", "costs.csv"),
        sentinel1=lambda wildcards: chip_batch_files("sentinel1", "costs.csv"),
    output:
        json=f"{RESULTS}/chips/costs.json",
        table=report(
            f"{RESULTS}/tables/chip_costs.csv",
            caption="report/chip_costs.rst",
            category="Tziolas 2020",
            subcategory="Data",
            labels={"table": "bytes read on chips"},
        ),
    log:
        f"{LOGS}/chips/costs.log",
    conda:
        "../envs/chips.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/chip_costs.py"
