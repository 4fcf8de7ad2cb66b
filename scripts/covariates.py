"""Rule covariates: the climate, terrain and yearly phenology covariates of one region (Zhang 2022, Table 1)."""

from soilsat.acquire.sources import phenology_years
from soilsat.cf_netcdf import write_netcdf
from soilsat.extract import covariates, modis_covariates
from soilsat.extract.granules import fetched
from soilsat.extract.rasters import read_index, usable
from soilsat.extract.static import region_file
from soilsat.extract.windows import WindowSettings
from soilsat.grid import coarsened, grid_from_config
from soilsat.io import atomic_path
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    settings = WindowSettings.from_config(params.config["extract"]["windows"])
    study = grid_from_config(params.region, params.config["grid"])
    grid = coarsened(study, settings.resolution_m)
    first, last = phenology_years(params.config)
    years = list(range(first, last + 1))
    region = params.region["name"]
    static = covariates.static_covariates(
        region_file(snakemake.input.dem, region), region_file(snakemake.input.climate, region), grid
    )
    if settings.phenology == "mcd12q2":
        phenology = fetched(snakemake.input.mcd12q2_catalog, snakemake.input.mcd12q2)
        reflectance = fetched(snakemake.input.mod09ga_catalog, snakemake.input.mod09ga)
        dynamic = modis_covariates.modis_series(phenology, reflectance, grid, years)
        products = {"mcd12q2": phenology["name"], "mod09ga": reflectance["name"]}
    else:
        optical = usable(read_index(snakemake.input.sentinel2), params.min_valid_fraction)
        factor = int(round(grid.resolution / study.resolution))
        dynamic = covariates.sentinel2_series(optical, grid, factor, years)
        products = {"sentinel2": optical.loc[optical["region"] == region, "path"]}
    dataset = covariates.covariates_dataset(static, dynamic, grid, years, params.config_hash, products)
    with atomic_path(snakemake.output[0]) as tmp:
        write_netcdf(dataset, tmp)
    log.info(
        "covariates of %s on a %d x %d grid of %g m: %d static, %d years x %d phenology metrics from %s",
        region,
        grid.height,
        grid.width,
        grid.resolution,
        len(covariates.STATIC),
        len(years),
        len(covariates.METRICS),
        settings.phenology,
    )
