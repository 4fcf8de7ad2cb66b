"""Rule extract_samples: bare-soil Sentinel-2 series with paired Sentinel-1 at each LUCAS sample (Tziolas 2020), from
the region rasters or, on the chip route (chips.enabled), from the values read at each point's chips."""

from pathlib import Path

from soilsat.acquire.tables import read_lucas
from soilsat.extract.cf import write_dataset
from soilsat.extract.chip_points import read_points
from soilsat.extract.pairing import (
    OPTICAL_COLUMNS,
    RADAR_COLUMNS,
    SampleSettings,
    pair_observations,
    read_point_values,
    usable_chips,
)
from soilsat.extract.points import locate
from soilsat.extract.rasters import read_index, usable
from soilsat.extract.samples import bare_soil_observations, sample_dataset, sample_table
from soilsat.grid import grid_from_config
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    settings = SampleSettings.from_config(params.samples)
    if params.chips["enabled"]:
        samples = read_points(snakemake.input.points)
        log.info("%d LUCAS points on chips", len(samples))
        optical = usable_chips(
            read_point_values(snakemake.input.sentinel2, [*OPTICAL_COLUMNS, "valid_fraction"]),
            params.min_valid_fraction,
        )
        radar = read_point_values(snakemake.input.sentinel1, RADAR_COLUMNS)
        observations = pair_observations(
            samples["point_id"].tolist(), optical, radar, settings.sentinel1_pair_days, settings.outlier_sd
        )
        products = {"sentinel1": sorted(set(radar["product"])), "sentinel2": sorted(set(optical["product"]))}
    else:
        grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
        lucas = sorted(Path(snakemake.input.lucas).glob("*.csv"))
        samples = locate(read_lucas(lucas[0]), grids, "point_id")
        log.info("%d LUCAS samples inside the study grids", len(samples))
        sentinel1 = read_index(snakemake.input.sentinel1)
        sentinel2 = usable(read_index(snakemake.input.sentinel2), params.min_valid_fraction)
        observations = bare_soil_observations(
            samples, sentinel2, sentinel1, pair_days=settings.sentinel1_pair_days, outlier_sd=settings.outlier_sd
        )
        products = {"sentinel1": list(sentinel1["path"]), "sentinel2": list(sentinel2["path"])}
    dataset = sample_dataset(samples, observations, params.config_hash, products)
    write_dataset(dataset, sample_table(dataset), snakemake.output.dataset, snakemake.output.table)
