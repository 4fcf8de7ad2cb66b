"""Rule map_soc: soil organic carbon map of one region from a forest on static covariates and mean EVI."""

import numpy as np

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cf_netcdf import read_dataset
from soilsat.extract.rasters import of_region, read_index, usable
from soilsat.extract.stack import mean_index, predict_map, read_named
from soilsat.grid import grid_from_config
from soilsat.io import write_cog
from soilsat.logs import to_file
from soilsat.models.forest import ForestSettings, fit_forest
from soilsat.models.maps import SOC_FEATURES, soc_training

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grid = grid_from_config(params.region, params.grid)
    x, y = soc_training(read_dataset(snakemake.input.windows))
    model = fit_forest(x, y, ForestSettings.from_config(params.forest), params.seed, snakemake.threads)
    optical = of_region(usable(read_index(snakemake.input.sentinel2), params.min_valid_fraction), grid.region)
    static = read_named(snakemake.input.static, list(SOC_FEATURES[:-1]))
    stack = np.concatenate([static, mean_index(optical, "EVI")[None]])
    soc = predict_map(model, stack)
    write_cog(
        snakemake.output[0],
        soc,
        grid,
        ["soc"],
        tags={
            "region": grid.region,
            "units": "g kg-1",
            "model": "random_forest (static covariates + mean EVI)",
            "attribution": COPERNICUS_ATTRIBUTION,
        },
    )
    log.info("organic-carbon map of %s from %d samples", grid.region, len(y))
