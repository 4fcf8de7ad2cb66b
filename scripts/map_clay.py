"""Rule map_clay: topsoil clay map of one region from a forest on median bare-soil spectra (Tziolas 2020 RF), with
the conformal interval, dissimilarity index and area of applicability of each pixel."""

import numpy as np

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cf_netcdf import read_dataset
from soilsat.errors import ProductError
from soilsat.evaluate.map_calibration import band_metadata, read_calibration, uncertainty_bands
from soilsat.extract.rasters import of_region, read_index, usable
from soilsat.extract.stack import median_bare_spectra, predict_map
from soilsat.grid import grid_from_config
from soilsat.io import write_cog
from soilsat.logs import to_file
from soilsat.models.forest import ForestSettings, fit_forest
from soilsat.models.maps import CLAY_FEATURES, clay_training

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grid = grid_from_config(params.region, params.grid)
    x, y = clay_training(read_dataset(snakemake.input.samples))
    model = fit_forest(x, y, ForestSettings.from_config(params.forest), params.seed, snakemake.threads)
    optical = of_region(usable(read_index(snakemake.input.sentinel2), params.min_valid_fraction), grid.region)
    stack = median_bare_spectra(optical, add_coordinates=grid.lonlat())
    clay = predict_map(model, stack)
    calibration = read_calibration(snakemake.input.calibration)
    if calibration.features != CLAY_FEATURES:
        raise ProductError(snakemake.input.calibration, f"calibrated on {calibration.features}, not {CLAY_FEATURES}")
    bands = uncertainty_bands(model, stack, clay, calibration, snakemake.threads)
    names, band_tags = band_metadata("clay", "percent", "topsoil clay content", calibration.level)
    write_cog(
        snakemake.output[0],
        np.concatenate([clay[None], bands]),
        grid,
        names,
        band_tags=band_tags,
        tags={
            "region": grid.region,
            "units": "percent",
            "model": "random_forest (median bare-soil spectra + coordinates)",
            "attribution": COPERNICUS_ATTRIBUTION,
            "interval_level": f"{100 * calibration.level:g} %",
            "aoa_threshold": f"{calibration.applicability.threshold:.4f}",
        },
    )
    log.info(
        "clay map of %s from %d samples: %.0f %% of pixels had a bare-soil observation",
        grid.region,
        len(y),
        100 * float((clay == clay).mean()),
    )
