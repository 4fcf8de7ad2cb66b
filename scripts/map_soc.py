"""Rule map_soc: soil organic carbon map of one region on its covariate grid (Zhang 2022: 90 m) from a forest on the
climate and terrain covariates and the mean yearly EVI, with the conformal interval, dissimilarity index and area of
applicability of each pixel."""

import numpy as np

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cf_netcdf import read_dataset
from soilsat.errors import ProductError
from soilsat.evaluate.map_calibration import band_metadata, read_calibration, uncertainty_bands
from soilsat.extract.covariates import grid_of
from soilsat.extract.stack import predict_map
from soilsat.io import write_cog
from soilsat.logs import to_file
from soilsat.models.forest import ForestSettings, fit_forest
from soilsat.models.maps import SOC_FEATURES, soc_stack, soc_training

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    covariates = read_dataset(snakemake.input.covariates)
    grid = grid_of(covariates)
    x, y = soc_training(read_dataset(snakemake.input.windows))
    model = fit_forest(x, y, ForestSettings.from_config(params.forest), params.seed, snakemake.threads)
    stack = soc_stack(covariates)
    soc = predict_map(model, stack)
    calibration = read_calibration(snakemake.input.calibration)
    if calibration.features != SOC_FEATURES:
        raise ProductError(snakemake.input.calibration, f"calibrated on {calibration.features}, not {SOC_FEATURES}")
    bands = uncertainty_bands(model, stack, soc, calibration, snakemake.threads)
    names, band_tags = band_metadata("soc", "g kg-1", "soil organic carbon content", calibration.level)
    write_cog(
        snakemake.output[0],
        np.concatenate([soc[None], bands]),
        grid,
        names,
        band_tags=band_tags,
        tags={
            "region": grid.region,
            "units": "g kg-1",
            "model": "random_forest (static covariates + mean EVI)",
            "attribution": COPERNICUS_ATTRIBUTION,
            "interval_level": f"{100 * calibration.level:g} %",
            "aoa_threshold": f"{calibration.applicability.threshold:.4f}",
        },
    )
    log.info("organic-carbon map of %s from %d samples", grid.region, len(y))
