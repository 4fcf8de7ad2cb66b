"""Rule qa4sm_export: every soil-moisture model's daily predictions at the probes as a QA4SM user-data upload
(a CF NetCDF4 stack), read back and compared with the predictions before it is kept."""

import numpy as np
import pandas as pd

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cf_netcdf import read_dataset
from soilsat.errors import ProductError
from soilsat.evaluate.probe_validation import fusion_predictions, named
from soilsat.evaluate.qa4sm import qa4sm_stack, read_qa4sm, variable_name, write_qa4sm
from soilsat.figures.common import read_tables
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    predictions = read_tables(snakemake.input.predictions, ["model", "variant", "probe", "time", "predicted"])
    if params.method == "tsagkatakis2021":
        predictions = fusion_predictions(predictions)
    table = named(predictions)
    table = table[table["name"].isin(params.models)].assign(model=lambda t: t["name"])
    table = table.groupby(["model", "probe", "time"], as_index=False)["predicted"].mean()
    dataset = read_dataset(snakemake.input.dataset)
    sites = pd.DataFrame(
        {"probe": dataset["probe"].values.astype(str), "lat": dataset["lat"].values, "lon": dataset["lon"].values}
    )
    sites = sites[sites["probe"].isin(table["probe"])]
    stack = qa4sm_stack(
        table,
        sites,
        {name: f"soilsat {name} daily surface soil moisture" for name in params.models},
        {
            "title": f"soilsat {params.method} predictions at the probes of study {params.study}",
            "source": "soilsat",
            "comment": f"QA4SM user-data upload. {COPERNICUS_ATTRIBUTION}",
        },
    )
    write_qa4sm(stack, snakemake.output[0])
    back = read_qa4sm(snakemake.output[0])
    expected = table.assign(variable=table["model"].map(variable_name), time=table["time"].dt.normalize())
    merged = expected.merge(back, on=["variable", "probe", "time"], how="outer", suffixes=("", "_read"))
    if merged[["predicted", "predicted_read"]].isna().any().any() or not np.allclose(
        merged["predicted"], merged["predicted_read"], rtol=1e-6, atol=1e-7
    ):
        raise ProductError(snakemake.output[0], "the QA4SM file does not read back as the predictions it was made from")
    log.info(
        "QA4SM stack: %d variables (%s) at %d probes over %d days; read back equal to the predictions",
        len(stack.data_vars),
        ", ".join(stack.data_vars),
        len(sites),
        stack.sizes["time"],
    )
