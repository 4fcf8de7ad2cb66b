# Sentinel-1: each GRD product becomes calibrated, speckle-filtered, terrain-corrected sigma0 (or terrain-flattened
# gamma0, sentinel1.radiometry) on the study grid of each region it covers, through one SNAP graph run by SNAP or
# by soilsat's own operators, with a STAC Item beside it.
from soilsat.sar.snap import preflight as snap_preflight  # noqa: E402

SENTINEL1 = config["sentinel1"]
if SENTINEL1["engine"] == "snap":
    # A missing SNAP fails here, before any job runs.
    snap_preflight(SENTINEL1["snap"])


rule sentinel1_sigma0:
    input:
        unpack(sentinel1_orbit_input),
        product=f"{RESOURCES}/sentinel1/{{product}}.zip",
        dem=f"{ANCILLARY}/dem",
    output:
        raster=f"{RESULTS}/sentinel1/{{region}}/{{product}}.tif",
        graph=f"{RESULTS}/sentinel1/{{region}}/{{product}}.graph.xml",
        item=f"{RESULTS}/sentinel1/{{region}}/{{product}}.json",
    log:
        f"{LOGS}/sentinel1/{{region}}/{{product}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sentinel1/{{region}}/{{product}}.tsv"
    conda:
        "../envs/sentinel1.yaml"
    container:
        SENTINEL1["snap"]["container"] if SENTINEL1["engine"] == "snap" else None
    envmodules:
        *SENTINEL1["snap"]["envmodules"],
    threads: SENTINEL1["threads"]
    resources:
        mem_mb=SENTINEL1["mem_mb"],
        runtime=SENTINEL1["runtime"],
    params:
        region=region_config,
        grid=config["grid"],
        sentinel1=SENTINEL1,
    script:
        "../scripts/sentinel1.py"
