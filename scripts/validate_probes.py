"""Rule validate_probes: soil moisture at the probes as QA4SM validates it - per-station and pooled metrics with
confidence intervals on raw values and anomalies, the stations left out, stratum summaries, triple collocation."""

from pathlib import Path

from soilsat.acquire.ismn import probe_table, read_ismn
from soilsat.cf_netcdf import read_dataset
from soilsat.evaluate.agreement import IntervalSettings
from soilsat.evaluate.anomalies import AnomalySettings
from soilsat.evaluate.matching import DAILY, MatchingSettings, check_matching, hourly_sites
from soilsat.evaluate.probe_validation import KEYS, collocation_table, fusion_predictions, matched_pairs, station_tables
from soilsat.evaluate.stations import POOLED
from soilsat.evaluate.store import write_table
from soilsat.evaluate.strata import STRATA, station_strata, stratum_summary
from soilsat.extract.rasters import read_index
from soilsat.figures.common import read_tables
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    validate = params.validate
    matching = MatchingSettings.from_config(validate)
    check_matching(matching)
    anomaly = AnomalySettings.from_config(validate["anomalies"])
    intervals = IntervalSettings.from_config(validate)
    dataset = read_dataset(snakemake.input.dataset)
    predictions = read_tables(
        snakemake.input.predictions, ["model", "variant", "probe", "time", "observed", "predicted"]
    )
    if params.method == "tsagkatakis2021":
        predictions = fusion_predictions(predictions)
    archive = sorted(Path(snakemake.input.ismn).glob("*.zip"))[0]
    acquisitions = None
    if matching.matching == DAILY:
        observed = dataset["ssm"].to_dataframe().reset_index()[["probe", "time", "ssm"]]
        observed = observed.rename(columns={"ssm": "observed"}).dropna(subset=["observed"])
        ismn = probe_table(archive)
    else:
        ismn, hourly = read_ismn(archive)
        observed = hourly_sites(hourly, ismn)
        acquisitions = read_index(snakemake.input.sentinel1)[["region", "time"]]
        log.info("%d hourly in-situ values, %d Sentinel-1 acquisitions", len(observed), len(acquisitions))
    pairs = matched_pairs(predictions, observed, matching, anomaly, acquisitions)
    metrics, excluded = station_tables(pairs, observed, matching, anomaly, intervals, params.seed)
    strata = station_strata(dataset, ismn)
    metrics = metrics.merge(strata, on="probe", how="left")
    for name in STRATA:
        metrics[name] = metrics[name].fillna("all")
    per_station = metrics[metrics["probe"] != POOLED]
    write_table(metrics, snakemake.output.stations)
    write_table(excluded, snakemake.output.excluded)
    write_table(stratum_summary(per_station, KEYS, STRATA), snakemake.output.strata)
    collocation = collocation_table(pairs, params.models, params.products, params.min_triplets, intervals, params.seed)
    write_table(collocation, snakemake.output.collocation)
    log.info(
        "%s matching: %d pairs; %d station rows scored, %d stations left out below %d pairs; "
        "triple collocation at %d stations",
        matching.matching,
        len(pairs),
        len(per_station),
        len(excluded),
        matching.min_pairs,
        collocation["probe"].nunique() - 1 if not collocation.empty else 0,
    )
    for (scope, name, kind), row in metrics[metrics["probe"] == POOLED].set_index(KEYS).iterrows():
        log.info("%s %s %s pooled: n %d, R %.3f, ubRMSD %.4f", scope, name, kind, row["n"], row["r"], row["ubrmsd"])
