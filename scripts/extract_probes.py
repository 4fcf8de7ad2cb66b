"""Rule extract_probes: the probe x day dataset of soil moisture and covariates."""

from soilsat.acquire.tables import read_weather
from soilsat.cf_netcdf import read_dataset
from soilsat.extract.cf import write_dataset
from soilsat.extract.insitu import insitu_tables
from soilsat.extract.probes import Sigma0Settings, build_dataset, to_table
from soilsat.extract.rasters import read_index
from soilsat.extract.static import region_file
from soilsat.grid import grid_from_config
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
    sites, daily = insitu_tables(read_dataset(snakemake.input.insitu))
    weather = {name: read_weather(region_file(snakemake.input.weather, name, ".csv")) for name in grids}
    static = dict(zip(grids, snakemake.input.static))
    dataset = build_dataset(
        sites,
        daily,
        weather,
        grids,
        read_index(snakemake.input.sentinel1),
        read_index(snakemake.input.sentinel2),
        static,
        params.period["start"],
        params.period["end"],
        params.window_days,
        params.min_valid_fraction,
        Sigma0Settings.from_config(params.sigma0),
        config_hash=params.config_hash,
        polarisations=params.polarisations,
    )
    write_dataset(dataset, to_table(dataset), snakemake.output.dataset, snakemake.output.table)
