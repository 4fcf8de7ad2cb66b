# STAC: the study's Collection over the Items that the Sentinel-1 and Sentinel-2 jobs write beside their COGs,
# one child Collection per source and region, validated offline against the vendored schemas.
STAC_SOURCES = [s for s in method_sources(config) if s in ("sentinel1", "sentinel2")]


rule stac_collection:
    input:
        lambda wildcards: [
            raster.removesuffix(".tif") + ".json"
            for source in STAC_SOURCES
            for raster in product_rasters(source)(wildcards)
        ],
    output:
        collection=f"{RESULTS}/stac/collection.json",
        children=expand(
            f"{RESULTS}/stac/{{source}}-{{region}}/collection.json",
            source=STAC_SOURCES,
            region=REGIONS,
        ),
    log:
        f"{LOGS}/stac/collection.log",
    conda:
        "../envs/stac.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        study=STUDY,
        sources=STAC_SOURCES,
        regions=REGIONS,
    script:
        "../scripts/stac_collection.py"
