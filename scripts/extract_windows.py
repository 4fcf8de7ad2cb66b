"""Rule extract_windows: climate and terrain windows and yearly phenology at each sample (Zhang 2022)."""

from pathlib import Path

from soilsat.acquire.tables import read_lucas
from soilsat.cf_netcdf import read_dataset
from soilsat.extract.cf import write_dataset
from soilsat.extract.covariates import grid_of
from soilsat.extract.points import locate
from soilsat.extract.windows import covariate_windows, sample_series, window_dataset, window_table, with_grid_xy
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    cubes = {region["name"]: read_dataset(path) for region, path in zip(params.regions, snakemake.input.covariates)}
    grids = {name: grid_of(cube) for name, cube in cubes.items()}
    samples = with_grid_xy(
        locate(read_lucas(sorted(Path(snakemake.input.lucas).glob("*.csv"))[0]), grids, "point_id"), grids
    )
    years = [int(y) for y in next(iter(cubes.values()))["year"].values]
    windows = covariate_windows(cubes, samples, params.size)
    yearly = sample_series(cubes, samples, years)
    dataset = window_dataset(samples, windows, yearly, params.config_hash, {"covariates": snakemake.input.covariates})
    write_dataset(dataset, window_table(dataset), snakemake.output.dataset, snakemake.output.table)
    log.info(
        "window dataset: %d samples, %d x %d windows of %d covariates at %g m, %d years of %d phenology metrics",
        dataset.sizes["sample"],
        dataset.sizes["wy"],
        dataset.sizes["wx"],
        dataset.sizes["covariate"],
        next(iter(grids.values())).resolution,
        dataset.sizes["year"],
        dataset.sizes["metric"],
    )
