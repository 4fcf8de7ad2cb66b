"""Rule extract_samples: bare-soil Sentinel-2 series with paired Sentinel-1 at each LUCAS sample (Tziolas 2020)."""

from pathlib import Path

from soilsat.acquire.tables import read_lucas
from soilsat.extract.samples import bare_soil_observations, locate, raster_index, sample_dataset, usable_optical
from soilsat.grid import grid_from_config
from soilsat.io import atomic_path
from soilsat.extract.probes import product_names
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
    lucas = sorted(Path(snakemake.input.lucas).glob("*.csv"))
    samples = locate(read_lucas(lucas[0]), grids, "point_id")
    log.info("%d LUCAS samples inside the study grids", len(samples))
    sentinel2 = usable_optical(snakemake.input.sentinel2, params.min_valid_fraction)
    observations = bare_soil_observations(
        samples,
        raster_index(sentinel2, "sensing_time"),
        raster_index(snakemake.input.sentinel1, "sensing_start"),
        pair_days=params.samples["sentinel1_pair_days"],
        outlier_sd=params.samples["outlier_sd"],
    )
    dataset = sample_dataset(samples, observations)
    dataset.attrs["config_sha256"] = params.config_hash
    dataset.attrs["sentinel2_products"] = " ".join(product_names(sentinel2))
    with atomic_path(snakemake.output.dataset) as tmp:
        dataset.to_netcdf(tmp, engine="netcdf4")
    with atomic_path(snakemake.output.table) as tmp:
        observations.to_parquet(tmp, index=False)
