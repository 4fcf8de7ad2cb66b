"""Rule extract_windows: static covariate windows and yearly phenology at each LUCAS sample (Zhang 2022)."""

from pathlib import Path

from soilsat.acquire.tables import read_lucas
from soilsat.extract.samples import (
    covariate_windows,
    locate,
    raster_index,
    window_dataset,
    window_table,
    usable_optical,
    yearly_phenology,
)
from soilsat.grid import grid_from_config
from soilsat.io import atomic_path
from soilsat.extract.probes import product_names
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
    samples = locate(read_lucas(sorted(Path(snakemake.input.lucas).glob("*.csv"))[0]), grids, "point_id")
    sentinel2 = usable_optical(snakemake.input.sentinel2, params.min_valid_fraction)
    windows = covariate_windows(dict(zip(grids, snakemake.input.static)), samples, params.windows["size"])
    yearly = yearly_phenology(samples, raster_index(sentinel2, "sensing_time"))
    dataset = window_dataset(samples, windows, yearly)
    dataset.attrs["config_sha256"] = params.config_hash
    dataset.attrs["sentinel2_products"] = " ".join(product_names(sentinel2))
    with atomic_path(snakemake.output.dataset) as tmp:
        dataset.to_netcdf(tmp, engine="netcdf4")
    with atomic_path(snakemake.output.table) as tmp:
        window_table(dataset).to_parquet(tmp, index=False)
    log.info("window dataset: %d samples, %d x %d windows of %d covariates, %d years of phenology",
             dataset.sizes["sample"], dataset.sizes["wy"], dataset.sizes["wx"], dataset.sizes["covariate"], dataset.sizes["year"])
