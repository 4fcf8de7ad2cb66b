"""Rule train_fusion: the Tsagkatakis (2021) fusion CNN on fine sigma0 + coarse patches, scored against the coarse
product."""

from soilsat.cf_netcdf import open_dataset, read_dataset, write_netcdf
from soilsat.evaluate.store import write_table
from soilsat.extract.rasters import of_region, read_index
from soilsat.io import atomic_path
from soilsat.logs import to_file
from soilsat.models.runtime import deterministic
from soilsat.models.tsagkatakis import protocol as fusion

with to_file(snakemake.log[0]) as log:
    deterministic(snakemake.params.seed, snakemake.threads)
    settings = fusion.FusionSettings.from_config(snakemake.params.settings)
    log.info("coarse product: %s", snakemake.params.coarse_source)
    probes = read_dataset(snakemake.input.insitu)
    radar = read_index(snakemake.input.sentinel1)
    found = []
    for region, path in zip(snakemake.params.regions, snakemake.input.coarse):
        with open_dataset(path) as product:
            found += fusion.region_patches(
                of_region(radar, region), product.load(), probes, region, snakemake.params.grid_resolution, settings
            )
    patches = fusion.stack_patches(found)
    validation = fusion.split_patches(len(patches.index), settings.validation_fraction, snakemake.params.seed)
    log.info(
        "%d patches of %d x %d fine pixels (%d for validation), %d probe values",
        len(patches.index),
        *patches.fine.shape[-2:],
        int(validation.sum()),
        len(patches.probes),
    )
    inputs = fusion.standardised_inputs(patches, ~validation)
    train = ~validation
    model = fusion.train_fusion(
        inputs[train], patches.probe_grid()[train], patches.product[train], settings, snakemake.params.seed
    )
    predicted = fusion.predict(model, inputs)
    predictions = fusion.probe_predictions(patches, predicted, validation)
    metrics = fusion.split_metrics(predictions)
    write_table(predictions, snakemake.output.predictions)
    with atomic_path(snakemake.output.metrics) as tmp:
        metrics.to_csv(tmp, index=False, float_format="%.5f")
    write_table(fusion.patch_scores(predictions), snakemake.output.patches)
    example = fusion.example_dataset(patches, fusion.example_patch(patches, validation), predicted)
    with atomic_path(snakemake.output.example) as tmp:
        write_netcdf(example, tmp)
    for _, row in metrics[(metrics["level"] == "all")].iterrows():
        log.info(
            "%s on %s probes: ubRMSE %.4f, RMSE %.4f, r %.3f, n %d",
            row["variant"],
            row["split"],
            row["ubrmse"],
            row["rmse"],
            row["r"],
            row["n"],
        )
