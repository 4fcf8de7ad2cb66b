"""The outputs of each study's validation section (rules/validate.smk), which `rule all` asks for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# Methods validated at probes (the others at held-out samples), and the quantity each method maps (Tsagkatakis
# 2021 writes no map); a mapping method's paper protocol is set beside random and blocked cross-validation.
PROBE_METHODS = ("simonsen2021", "tsagkatakis2021")
MAPPED_QUANTITY = {"simonsen2021": "ssm", "tziolas2020": "clay", "zhang2022": "soc"}


def method_targets(method: str, results: str, regions: Sequence[str], products: Sequence[str]) -> list[str]:
    """One method's validation tables, figures and export; `products`: its independent products."""
    folder, figures = f"{results}/validation/{method}", f"{results}/figures/validation/{method}"
    targets = [f"{folder}/coverage.csv", f"{figures}/coverage.png"]
    if method in PROBE_METHODS:
        targets += [
            f"{folder}/stations.csv",
            f"{folder}/strata.csv",
            f"{figures}/strata_raw.png",
            f"{figures}/strata_anomaly.png",
            f"{results}/qa4sm/{method}.nc",
        ]
        if products:  # triple collocation needs a third, independent estimate
            targets.append(f"{figures}/triple_collocation.png")
    else:
        targets += [f"{folder}/scores.csv", f"{figures}/strata_errors.png"]
    if method in MAPPED_QUANTITY:
        quantity = MAPPED_QUANTITY[method]
        targets += [f"{folder}/protocols.csv", f"{figures}/protocols.png"]
        suffix = "" if quantity == "ssm" else ".png"  # one folder of figures per region for the soil-moisture dates
        targets += [f"{results}/figures/validation/aoa_{quantity}_{region}{suffix}" for region in regions]
    return targets


def validation_targets(
    methods: Sequence[str], results: str, regions: Sequence[str], products: Mapping[str, Sequence[str]]
) -> list[str]:
    """The validation section of every method a study runs; `products`: each probe method's independent products."""
    return [
        target for method in methods for target in method_targets(method, results, regions, products.get(method, []))
    ]
