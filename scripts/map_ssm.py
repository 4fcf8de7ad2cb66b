"""Rule map_ssm: surface soil moisture maps of one region from a forest fitted on every probe."""

from pathlib import Path

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.acquire.tables import read_weather
from soilsat.cf_netcdf import read_dataset
from soilsat.errors import ProductError
from soilsat.extract.probes import to_table
from soilsat.extract.rasters import of_region, read_index, usable
from soilsat.extract.stack import daily_stack, predict_map
from soilsat.extract.static import region_file
from soilsat.grid import grid_from_config
from soilsat.io import write_cog
from soilsat.logs import to_file
from soilsat.models.forest import ForestSettings, fit_forest
from soilsat.models.maps import map_dates, mappable_dates, probe_training
from soilsat.models.simonsen.inputs import InputSettings
from soilsat.models.simonsen.inputs import features as model_inputs

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    region = params.region["name"]
    grid = grid_from_config(params.region, params.grid)
    dataset = read_dataset(snakemake.input.dataset)
    # TS_max is measured at the probes only: the map model reads every other input of the full variant.
    features = [
        name for name in model_inputs(dataset, "full", InputSettings.from_config(params.inputs)) if name != "ts_max"
    ]
    x, y = probe_training(to_table(dataset), features)
    model = fit_forest(x, y, ForestSettings.from_config(params.forest), params.seed, snakemake.threads)
    log.info("forest fitted on %d probe-days of every region; inputs: %s", len(y), ", ".join(features))
    radar = of_region(read_index(snakemake.input.sentinel1), region)
    optical = of_region(usable(read_index(snakemake.input.sentinel2), params.min_valid_fraction), region)
    weather = read_weather(region_file(snakemake.input.weather, region, ".csv"))
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    candidates = mappable_dates(radar["time"], optical["time"], params.window_days)
    log.info(
        "%d of %d Sentinel-1 dates of %s have a Sentinel-2 observation within %d days",
        len(candidates),
        len(radar),
        region,
        params.window_days,
    )
    if not candidates:
        raise ProductError(
            snakemake.input.static,
            f"no Sentinel-1 date of region {region} has a usable Sentinel-2 "
            f"observation within {params.window_days} days (extract.interpolation_window_days): "
            "nothing to map",
        )
    for day in map_dates(candidates, params.ssm_dates):
        row = radar[radar["time"] == day].iloc[0]
        date = day.normalize()
        stack = daily_stack(row["path"], optical, weather, snakemake.input.static, date, params.window_days, features)
        ssm = predict_map(model, stack)
        write_cog(
            out / f"ssm_{region}_{date:%Y%m%d}.tif",
            ssm,
            grid,
            ["ssm"],
            tags={
                "region": region,
                "date": f"{date:%Y-%m-%d}",
                "units": "m3 m-3",
                "model": "random_forest (full inputs without TS_max)",
                "sentinel1_product": row["product"],
                "attribution": COPERNICUS_ATTRIBUTION,
            },
        )
        log.info(
            "soil-moisture map of %s on %s: %.0f %% of pixels mapped",
            region,
            f"{date:%Y-%m-%d}",
            100 * float((ssm == ssm).mean()),
        )
