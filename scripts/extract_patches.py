"""Rule extract_patches: the Tsagkatakis (2021) patches of SMAP and Sentinel-1 inputs with the probes inside them."""

import pandas as pd

from soilsat.cf_netcdf import read_dataset
from soilsat.extract.cf import write_dataset
from soilsat.extract.rasters import read_index
from soilsat.grid import grid_from_config
from soilsat.logs import to_file
from soilsat.models.tsagkatakis import patches as fusion_patches
from soilsat.models.tsagkatakis import scenes

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    settings = fusion_patches.PatchSettings.from_config(params.settings)
    smap = scenes.SmapSettings.from_config(params.smap)
    regions = [scenes.fine_region(grid_from_config(r, params.grid), settings.fine_resolution_m) for r in params.regions]
    tables = {
        source: scenes.granules(getattr(snakemake.input, f"{source}_catalog"), getattr(snakemake.input, source))
        for source in ("smap_l1c_tb", "smap_l2_sm", "smap_l2_sm_sp")
    }
    radar = read_index(snakemake.input.sentinel1) if "sentinel1" in snakemake.input.keys() else pd.DataFrame()
    log.info("sigma0 from %s; fine grid of %g m", settings.sigma0_source, settings.fine_resolution_m)
    found_scenes = scenes.region_scenes(
        regions,
        settings.sigma0_source,
        radar,
        tables["smap_l1c_tb"],
        tables["smap_l2_sm"],
        tables["smap_l2_sm_sp"],
        smap,
    )
    probes = read_dataset(snakemake.input.insitu)
    found = []
    for region in regions:
        found += fusion_patches.region_patches(found_scenes, region, probes, settings)
    patches = fusion_patches.stack_patches(found)
    products = {source: table["name"] for source, table in tables.items()}
    if len(radar):
        products["sentinel1"] = radar["path"]
    dataset = fusion_patches.patches_dataset(patches, settings.fine_resolution_m, params.config_hash, products)
    write_dataset(dataset, fusion_patches.entry_table(patches), snakemake.output.dataset, snakemake.output.table)
    log.info(
        "%d scenes, %d patches of %d x %d fine pixels, %d probe entries at %d locations",
        len(found_scenes),
        len(patches.index),
        *patches.target.shape[1:],
        len(patches.entries),
        patches.entries["location"].nunique(),
    )
