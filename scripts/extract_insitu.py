"""Rule extract_insitu: daily probe soil moisture and soil temperature from the ISMN archive."""

from pathlib import Path

from soilsat.acquire.ismn import daily_soil_moisture, read_ismn
from soilsat.extract.cf import write_dataset
from soilsat.extract.insitu import insitu_dataset
from soilsat.extract.probes import probe_days
from soilsat.grid import grid_from_config
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
    archives = sorted(Path(snakemake.input.ismn).glob("*.zip"))
    probes, hourly = read_ismn(archives[0])
    sites, daily = probe_days(daily_soil_moisture(hourly, probes))
    dataset = insitu_dataset(sites, daily, grids, params.period["start"], params.period["end"], params.config_hash)
    log.info(
        "in-situ dataset: %d probe sites x %d days, %d probe-days with soil moisture",
        dataset.sizes["probe"],
        dataset.sizes["time"],
        int(dataset["ssm"].notnull().sum()),
    )
    write_dataset(dataset, dataset.to_dataframe().reset_index(), snakemake.output.dataset, snakemake.output.table)
