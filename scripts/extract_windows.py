"""Rule extract_windows: static covariate windows and yearly phenology at each LUCAS sample (Zhang 2022)."""

from pathlib import Path

from soilsat.acquire.tables import read_lucas
from soilsat.extract.cf import write_dataset
from soilsat.extract.points import locate
from soilsat.extract.rasters import read_index, usable
from soilsat.extract.windows import WindowSettings, covariate_windows, window_dataset, window_table, yearly_phenology
from soilsat.grid import grid_from_config
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
    samples = locate(read_lucas(sorted(Path(snakemake.input.lucas).glob("*.csv"))[0]), grids, "point_id")
    sentinel2 = usable(read_index(snakemake.input.sentinel2), params.min_valid_fraction)
    size = WindowSettings.from_config(params.windows).size
    windows = covariate_windows(dict(zip(grids, snakemake.input.static)), samples, size)
    yearly = yearly_phenology(samples, sentinel2)
    dataset = window_dataset(samples, windows, yearly, params.config_hash, {"sentinel2": sentinel2["path"]})
    write_dataset(dataset, window_table(dataset), snakemake.output.dataset, snakemake.output.table)
    log.info(
        "window dataset: %d samples, %d x %d windows of %d covariates, %d years of phenology",
        dataset.sizes["sample"],
        dataset.sizes["wy"],
        dataset.sizes["wx"],
        dataset.sizes["covariate"],
        dataset.sizes["year"],
    )
