"""Rule map_clay: topsoil clay map of one region from a forest on median bare-soil spectra (Tziolas 2020 RF)."""

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cf_netcdf import read_dataset
from soilsat.extract.rasters import of_region, read_index, usable
from soilsat.extract.stack import median_bare_spectra, predict_map
from soilsat.grid import grid_from_config
from soilsat.io import write_cog
from soilsat.logs import to_file
from soilsat.models.forest import ForestSettings, fit_forest
from soilsat.models.maps import clay_training

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grid = grid_from_config(params.region, params.grid)
    x, y = clay_training(read_dataset(snakemake.input.samples))
    model = fit_forest(x, y, ForestSettings.from_config(params.forest), params.seed, snakemake.threads)
    optical = of_region(usable(read_index(snakemake.input.sentinel2), params.min_valid_fraction), grid.region)
    stack = median_bare_spectra(optical, add_coordinates=grid.lonlat())
    clay = predict_map(model, stack)
    write_cog(
        snakemake.output[0],
        clay,
        grid,
        ["clay"],
        tags={
            "region": grid.region,
            "units": "percent",
            "model": "random_forest (median bare-soil spectra + coordinates)",
            "attribution": COPERNICUS_ATTRIBUTION,
        },
    )
    log.info(
        "clay map of %s from %d samples: %.0f %% of pixels had a bare-soil observation",
        grid.region,
        len(y),
        100 * float((clay == clay).mean()),
    )
