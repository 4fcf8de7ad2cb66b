"""Rule map_ssm: surface soil moisture maps of one region from a forest fitted on every probe, with the conformal
interval, dissimilarity index and area of applicability of each pixel (soilsat.evaluate.map_calibration)."""

from pathlib import Path

import numpy as np

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.acquire.tables import read_weather
from soilsat.cf_netcdf import read_dataset
from soilsat.errors import ProductError
from soilsat.evaluate.map_calibration import band_metadata, read_calibration, uncertainty_bands
from soilsat.extract.probes import to_table
from soilsat.extract.rasters import of_region, read_index, usable
from soilsat.extract.stack import daily_stack, predict_map
from soilsat.extract.static import region_file
from soilsat.grid import grid_from_config
from soilsat.io import write_cog
from soilsat.logs import to_file
from soilsat.models.forest import ForestSettings, fit_forest
from soilsat.models.maps import map_dates, mappable_dates, probe_training, ssm_features
from soilsat.models.simonsen.inputs import InputSettings

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    region = params.region["name"]
    grid = grid_from_config(params.region, params.grid)
    dataset = read_dataset(snakemake.input.dataset)
    features = ssm_features(dataset, InputSettings.from_config(params.inputs))
    calibration = read_calibration(snakemake.input.calibration)
    if list(calibration.features) != features:
        raise ProductError(
            snakemake.input.calibration, f"calibrated on {calibration.features}, the map reads {tuple(features)}"
        )
    names, band_tags = band_metadata("ssm", "m3 m-3", "surface soil moisture 0-5 cm", calibration.level)
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
        bands = uncertainty_bands(model, stack, ssm, calibration, snakemake.threads)
        write_cog(
            out / f"ssm_{region}_{date:%Y%m%d}.tif",
            np.concatenate([ssm[None], bands]),
            grid,
            names,
            band_tags=band_tags,
            tags={
                "region": region,
                "date": f"{date:%Y-%m-%d}",
                "units": "m3 m-3",
                "model": "random_forest (full inputs without TS_max)",
                "sentinel1_product": row["product"],
                "attribution": COPERNICUS_ATTRIBUTION,
                "interval_level": f"{100 * calibration.level:g} %",
                "aoa_threshold": f"{calibration.applicability.threshold:.4f}",
            },
        )
        log.info(
            "soil-moisture map of %s on %s: %.0f %% of pixels mapped, %.0f %% of those inside the AOA",
            region,
            f"{date:%Y-%m-%d}",
            100 * float((ssm == ssm).mean()),
            100 * float(np.nanmean(bands[3])) if np.isfinite(bands[3]).any() else 0.0,
        )
