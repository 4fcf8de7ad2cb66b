"""From CSM's relative soil moisture (percent of saturation) to volumetric water content (m3 m-3).

Two named conversions: `fraction` reads the saturation degree as a volumetric fraction (ssm / 100),
which is what the CSM errors of Simonsen (2021, MAE 32 % against probes in volumetric %) imply;
`porosity` scales it by the soil's porosity, theta = ssm / 100 * theta_s, with theta_s from sand and
clay percentages by Cosby et al. (1984): theta_s = (50.5 - 0.142 sand - 0.037 clay) / 100.
"""

from __future__ import annotations

import numpy as np

CONVERSIONS = ("fraction", "porosity")


def cosby_porosity(sand: np.ndarray, clay: np.ndarray) -> np.ndarray:
    """Saturated water content (m3 m-3) from sand and clay (% weight), Cosby et al. (1984)."""
    sand, clay = np.asarray(sand, dtype=float), np.asarray(clay, dtype=float)
    if np.any((sand < 0) | (sand > 100) | (clay < 0) | (clay > 100)):
        raise ValueError("sand and clay must be percentages between 0 and 100")
    return (50.5 - 0.142 * sand - 0.037 * clay) / 100.0


def saturation_to_volumetric(
    ssm_percent: np.ndarray, method: str | None, sand: np.ndarray | None = None, clay: np.ndarray | None = None
) -> np.ndarray:
    """Volumetric water content (m3 m-3) of a saturation degree in %, by `method` ('fraction' or 'porosity')."""
    fraction = np.asarray(ssm_percent, dtype=float) / 100.0
    if method == "fraction":
        return fraction
    if method == "porosity":
        if sand is None or clay is None:
            raise ValueError("the 'porosity' conversion needs the sand and clay percentages of each point")
        return fraction * cosby_porosity(sand, clay)
    raise ValueError(f"unknown conversion {method!r}; choose one of {', '.join(CONVERSIONS)}")
