"""Rehearsals: a study file run offline on a synthetic world shaped like it, through a documented overlay.

The overlay (`studies/rehearsals/<study>.yaml`) may change only what makes the run small and offline:
the study name, the provider and the demo world (`study`, `provider`, `demo`, `rehearsal`), the size of
each region (`regions[].size_m`), the length of the period (`period.end`), and the epochs, repeats and
trees of the models (keys named `epochs`, `repeats` or `n_estimators` under `train`). Everything else
must equal the study file, defaults included, so a rehearsal never hides a setting of the real run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from soilsat.errors import ConfigError

BOOKKEEPING = ("study", "provider", "demo", "rehearsal")
MODEL_SIZE = ("epochs", "repeats", "n_estimators")


def differences(study: Any, merged: Any, path: str = "") -> Iterator[str]:
    """Dotted keys (list items as [i]) where two configurations differ."""
    if isinstance(study, Mapping) and isinstance(merged, Mapping):
        for key in sorted(set(study) | set(merged), key=str):
            yield from differences(study.get(key), merged.get(key), f"{path}.{key}" if path else str(key))
    elif isinstance(study, list) and isinstance(merged, list) and len(study) == len(merged):
        for i, (a, b) in enumerate(zip(study, merged)):
            yield from differences(a, b, f"{path}[{i}]")
    elif study != merged:
        yield path


def allowed(key: str) -> bool:
    """Whether a rehearsal overlay may change this dotted key."""
    head = key.split(".")[0].split("[")[0]
    if head in BOOKKEEPING:
        return True
    if head == "regions":
        return key.endswith(".size_m") and key.count(".") == 1 and key.startswith("regions[")
    if key == "period.end":
        return True
    return head == "train" and key.rsplit(".", 1)[-1] in MODEL_SIZE


def check_overlay(study: Mapping, merged: Mapping, overlay_name: str = "the rehearsal overlay") -> None:
    """Raise ConfigError naming every key the overlay changes beyond the rehearsal's, or a longer period."""
    changed = [key for key in differences(study, merged) if not allowed(key)]
    if changed:
        raise ConfigError(
            f"{overlay_name} changes config keys a rehearsal must keep as the study file has them: "
            f"{', '.join(changed)} (a rehearsal may change only study, provider, demo, rehearsal, "
            "regions[].size_m, period.end and the epochs, repeats and n_estimators under train)"
        )
    if str(merged["period"]["end"]) > str(study["period"]["end"]):
        raise ConfigError(
            f"{overlay_name}: config key period.end ({merged['period']['end']}) lies beyond the "
            f"study's period ({study['period']['start']} to {study['period']['end']})"
        )
    if merged["provider"] != "demo":
        raise ConfigError(
            f"{overlay_name}: config key provider must be 'demo' in a rehearsal, got {merged['provider']!r}"
        )
