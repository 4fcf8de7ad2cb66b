"""Quick-look PNGs of map COGs: one band with CRS and units from its tags, colour bar, scale bar, attribution."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from soilsat.figures.common import attribute, crs_name, figure_per_map, map_panel, panels, plt, read_map, unit_label

# Colour maps per mapped quantity, the band's description being the key.
CMAPS = {"ssm": "YlGnBu", "clay": "copper_r", "soc": "YlOrBr", "oc": "YlOrBr"}
AOA_BAND = "area_of_applicability"
OUTSIDE_AOA = (0.35, 0.35, 0.35, 0.75)  # RGBA drawn over the pixels outside the area of applicability
NAMES = {
    "ssm": "Surface soil moisture",
    "clay": "Topsoil clay",
    "soc": "Soil organic carbon",
    "oc": "Soil organic carbon",
}


def band_names(path: str | os.PathLike) -> list[str]:
    """The descriptions of a raster's bands."""
    import rasterio

    with rasterio.open(path) as src:
        return [d or "value" for d in src.descriptions]


def greyed(ax: Axes, aoa: np.ndarray, extent: tuple[float, float, float, float]) -> None:
    """Grey out the pixels outside the area of applicability (AOA band 0) on a map axes in km, with a legend."""
    overlay = np.zeros((*aoa.shape, 4))
    overlay[aoa == 0] = OUTSIDE_AOA
    left, right, bottom, top = (v / 1000.0 for v in extent)
    ax.imshow(overlay, extent=(left, right, bottom, top), interpolation="nearest")
    ax.legend(
        handles=[Patch(facecolor=OUTSIDE_AOA, label="outside the area of applicability")],
        loc="upper right",
        fontsize=7,
        framealpha=0.8,
    )


def quicklook(path: str | os.PathLike, band: str | None = None) -> Figure:
    """A quick-look figure of one band of a map COG, greyed outside the area of applicability where it has one."""
    layer = read_map(path, band)
    name = band or _band_name(path)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), layout="constrained")
    map_panel(ax, layer, f"{NAMES.get(name, name)} ({unit_label(layer.units)})", cmap=CMAPS.get(name, "viridis"))
    if AOA_BAND in band_names(path):
        greyed(ax, read_map(path, AOA_BAND).values, layer.extent)
    when = f" {layer.tags['date']}" if "date" in layer.tags else ""
    ax.set_title(f"{NAMES.get(name, name)}, {layer.tags.get('region', '')}{when}\n{crs_name(layer.crs)}", fontsize=10)
    attribute(fig)
    return fig


def map_panels(paths: Sequence[str | os.PathLike], title: str) -> Figure:
    """One panel per map COG (a region each) on a shared colour scale, as Tziolas Fig 13 and Zhang Fig 9."""
    import numpy as np

    layers = [read_map(path) for path in paths]
    name = _band_name(paths[0])
    values = np.concatenate([layer.values[np.isfinite(layer.values)] for layer in layers])
    limits = (float(np.percentile(values, 2)), float(np.percentile(values, 98))) if values.size else (0.0, 1.0)
    fig, axes = panels(len(layers), 5.0, 2)
    for ax, layer in zip(axes, layers):
        map_panel(
            ax,
            layer,
            f"{NAMES.get(name, name)} ({unit_label(layer.units)})",
            cmap=CMAPS.get(name, "viridis"),
            limits=limits,
        )
        ax.set_title(f"{layer.tags.get('region', '')} ({crs_name(layer.crs)})", fontsize=10)
    fig.suptitle(title)
    attribute(fig)
    return fig


def quicklook_folder(maps: str | os.PathLike, out: str | os.PathLike) -> list[Path]:
    """One quick-look PNG per map COG of a folder, named after it, written into `out` (made whole or not at all)."""
    return figure_per_map(maps, out, quicklook)


def _band_name(path: str | os.PathLike) -> str:
    """The description of a raster's first band."""
    return band_names(path)[0]
