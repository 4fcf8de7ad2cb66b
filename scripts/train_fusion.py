"""Rule train_fusion: the Tsagkatakis (2021) fusion CNN on the patches, scored with the SMAP/Sentinel-1 L2 1 km
product on the same validation probes."""

from soilsat.cf_netcdf import read_dataset, write_netcdf
from soilsat.evaluate.store import write_table
from soilsat.io import atomic_path
from soilsat.logs import to_file
from soilsat.models.runtime import deterministic
from soilsat.models.tsagkatakis import protocol as fusion
from soilsat.models.tsagkatakis.patches import read_patches

with to_file(snakemake.log[0]) as log:
    seed = snakemake.params.seed
    deterministic(seed, snakemake.threads)
    settings = fusion.FusionSettings.from_config(snakemake.params.settings)
    patches = read_patches(read_dataset(snakemake.input.patches))
    split = fusion.split(patches, settings, seed)
    held = split.entry_split(patches) == "validation"
    log.info(
        "%d patches; validation held out by %s: %d of %d probe locations, %d of %d probe entries",
        len(patches.index),
        settings.holdout,
        patches.entries["location"][held].nunique(),
        patches.entries["location"].nunique(),
        int(held.sum()),
        len(held),
    )
    train = split.training_patches
    inputs = fusion.standardised_inputs(patches, train)
    model = fusion.train_fusion(
        inputs[train], split.training_grid(patches)[train], patches.target[train], patches.cells[train], settings, seed
    )
    predicted = fusion.predict(model, inputs)
    predictions = fusion.probe_predictions(patches, predicted, split)
    metrics = fusion.split_metrics(predictions)
    write_table(predictions, snakemake.output.predictions)
    with atomic_path(snakemake.output.metrics) as tmp:
        metrics.to_csv(tmp, index=False, float_format="%.5f")
    write_table(fusion.patch_scores(predictions), snakemake.output.patches)
    example = fusion.example_dataset(patches, fusion.example_patch(patches, split), predicted)
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
