"""Rule calibrate_map: the map forest of one quantity (ssm, clay, soc) cross-validated under blocked and random
folds; its conformal interval calibration and area of applicability, which the map rule writes as bands."""

import dataclasses
from pathlib import Path

from soilsat.acquire.ismn import probe_table
from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.blocks import BlockSettings, block_labels
from soilsat.evaluate.conformal import ConformalSettings
from soilsat.evaluate.map_calibration import calibrate_forest, training_set, write_calibration
from soilsat.evaluate.store import write_table
from soilsat.evaluate.strata import station_strata
from soilsat.logs import to_file
from soilsat.models.forest import ForestSettings
from soilsat.models.simonsen.inputs import InputSettings

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    validate = params.validate
    quantity = snakemake.wildcards.quantity
    dataset = read_dataset(snakemake.input.dataset)
    rows = training_set(quantity, dataset, InputSettings.from_config(params.inputs))
    blocking = BlockSettings.from_config(validate["blocked_cv"])
    network = None
    if blocking.by == "network":
        if quantity == "ssm":
            archive = sorted(Path(snakemake.input.ismn).glob("*.zip"))[0]
            networks = station_strata(dataset, probe_table(archive)).set_index("probe")["network"]
            network = rows.where["probe"].map(networks).to_numpy()
        else:
            log.info("samples have no network: blocked cross-validation holds out regions instead")
            blocking = dataclasses.replace(blocking, by="region")
    blocks = block_labels(blocking, rows.where["region"], rows.where["lat"], rows.where["lon"], network)
    result = calibrate_forest(
        rows.x,
        rows.y,
        rows.features,
        blocks,
        ForestSettings.from_config(params.forest),
        blocking,
        ConformalSettings.from_config(validate["intervals"]),
        validate["aoa"]["max_reference_points"],
        params.seed,
        snakemake.threads,
    )
    write_calibration(result.calibration, snakemake.output.calibration)
    write_table(result.held_out.assign(**{"id": rows.where["probe"].to_numpy()}), snakemake.output.held_out)
    write_table(result.protocols.assign(blocked_by=blocking.by, block_m=blocking.block_m), snakemake.output.protocols)
    write_table(result.coverage, snakemake.output.coverage)
    calibration = result.calibration
    log.info(
        "%s forest on %d rows in %d blocks (%s): AOA threshold %.3f (%.0f %% of training rows inside), "
        "%.0f %% interval half-width %.3f x (spread + %.4f)",
        quantity,
        len(rows.y),
        len(set(blocks)),
        blocking.by,
        calibration.applicability.threshold,
        100 * result.held_out["inside_aoa"].mean(),
        100 * calibration.level,
        calibration.quantile,
        calibration.floor,
    )
    for row in result.protocols.itertuples():
        log.info("%s cross-validation (%d folds): RMSE %.4f, R2 %.3f", row.protocol, row.folds, row.rmse, row.r2)
