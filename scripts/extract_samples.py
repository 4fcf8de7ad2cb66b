"""Rule extract_samples: bare-soil Sentinel-2 series with paired Sentinel-1 at each LUCAS sample (Tziolas 2020)."""

from pathlib import Path

from soilsat.acquire.tables import read_lucas
from soilsat.extract.cf import write_dataset
from soilsat.extract.points import locate
from soilsat.extract.rasters import read_index, usable
from soilsat.extract.samples import SampleSettings, bare_soil_observations, sample_dataset, sample_table
from soilsat.grid import grid_from_config
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
    lucas = sorted(Path(snakemake.input.lucas).glob("*.csv"))
    samples = locate(read_lucas(lucas[0]), grids, "point_id")
    log.info("%d LUCAS samples inside the study grids", len(samples))
    settings = SampleSettings.from_config(params.samples)
    sentinel1 = read_index(snakemake.input.sentinel1)
    sentinel2 = usable(read_index(snakemake.input.sentinel2), params.min_valid_fraction)
    observations = bare_soil_observations(
        samples,
        sentinel2,
        sentinel1,
        pair_days=settings.sentinel1_pair_days,
        outlier_sd=settings.outlier_sd,
    )
    dataset = sample_dataset(
        samples, observations, params.config_hash, {"sentinel1": sentinel1["path"], "sentinel2": sentinel2["path"]}
    )
    write_dataset(dataset, sample_table(dataset), snakemake.output.dataset, snakemake.output.table)
