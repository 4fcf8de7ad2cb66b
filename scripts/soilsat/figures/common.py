"""Shared figure helpers: attribution, saving, reading stored tables and map COGs, map panels, layout checks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from soilsat import COPERNICUS_ATTRIBUTION  # noqa: E402
from soilsat.errors import ProductError  # noqa: E402
from soilsat.io import atomic_path  # noqa: E402

# CORINE Land Cover level-3 classes (abridged names) that soil probes and samples fall on.
CORINE = {
    111: "Continuous urban",
    112: "Discontinuous urban",
    211: "Non-irrigated arable",
    212: "Permanently irrigated",
    213: "Rice fields",
    221: "Vineyards",
    222: "Fruit trees",
    223: "Olive groves",
    231: "Pastures",
    241: "Annual with permanent crops",
    242: "Complex cultivation",
    243: "Agriculture with natural vegetation",
    244: "Agro-forestry",
    311: "Broad-leaved forest",
    312: "Coniferous forest",
    313: "Mixed forest",
    321: "Natural grasslands",
    322: "Moors and heathland",
    323: "Sclerophyllous vegetation",
    324: "Transitional woodland-shrub",
    331: "Beaches, dunes, sands",
    332: "Bare rocks",
    333: "Sparsely vegetated",
    411: "Inland marshes",
    412: "Peat bogs",
    511: "Water courses",
    512: "Water bodies",
}

# Units as the stored tags spell them (CF/UDUNITS) and as an axis label shows them.
UNIT_LABELS = {
    "m3 m-3": "m³/m³",
    "percent": "%",
    "g kg-1": "g/kg",
    "degC": "°C",
    "degree": "°",
    "1": "-",
    "dB": "dB",
    "0.1 lg(re 1)": "dB",
    "mm": "mm",
    "day": "days",
    "m": "m",
}


def landcover_name(code: object) -> str:
    """A short readable name of a CORINE code, with the code."""
    try:
        number = int(float(str(code)))
    except ValueError:
        return str(code)
    return f"{CORINE.get(number, 'CORINE')} ({number})"


def unit_label(units: str) -> str:
    """The axis-label form of a stored unit string."""
    return UNIT_LABELS.get(units, units)


def model_label(model: str, variant: object = None) -> str:
    """A readable model name: 'lstm' + 'minimum' -> 'LSTM minimum', 'random_forest' -> 'Random forest'."""
    names = {
        "lstm": "LSTM",
        "random_forest": "Random forest",
        "rf": "RF",
        "cnn": "CNN",
        "ann": "ANN",
        "cnn_lstm": "CNN-LSTM",
        "climatology": "Climatology",
        "change_detection": "Change detection",
        "csm": "CSM",
        "ecv_sm": "ECV_SM",
    }
    label = names.get(str(model), str(model).replace("_", " "))
    if variant is not None and str(variant) not in ("", "nan", "None", "default"):
        label += f" {str(variant).replace('_', ' ')}"
    return label


def attribute(fig: Figure, year: str | int | None = None) -> None:
    """Stamp the Copernicus Sentinel attribution in the lower right corner, in a strip kept free of axes."""
    text = COPERNICUS_ATTRIBUTION + (f" [{year}]" if year else "")
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and "rect" in engine.get():
        # Constrained layout ignores figure texts, so reserve a strip one text line high at the bottom.
        strip = 13 / 72 / fig.get_figheight()
        engine.set(rect=(0, strip, 1, 1 - strip))  # type: ignore[call-arg]  # the constrained and tight engines take rect
    fig.text(0.995, 0.004, text, ha="right", va="bottom", fontsize=7, color="0.35")


def save(fig: Figure, path: str | os.PathLike) -> None:
    """Save a figure atomically as PNG and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def figure_per_map(maps: str | os.PathLike, out: str | os.PathLike, draw: Callable[[Path], Figure]) -> list[Path]:
    """One PNG per map COG of a folder (the dated maps of a region), named after it and drawn by `draw`, written
    into the folder `out` whole or not at all."""
    cogs = sorted(Path(maps).glob("*.tif"))
    if not cogs:
        raise ProductError(maps, "holds no map COG (*.tif) to draw")
    with atomic_path(out) as staging:
        Path(staging).mkdir(parents=True)
        for cog in cogs:
            save(draw(cog), Path(staging) / f"{cog.stem}.png")
    return [Path(out) / f"{cog.stem}.png" for cog in cogs]


def require_columns(table: pd.DataFrame, columns: Iterable[str], source: str | os.PathLike) -> None:
    """Raise ProductError naming the source when a table lacks any of the columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ProductError(source, f"missing column(s) {', '.join(missing)}; has {', '.join(map(str, table.columns))}")


def read_tables(paths: str | os.PathLike | Sequence[str | os.PathLike], columns: Iterable[str]) -> pd.DataFrame:
    """Read and stack stored CSV tables (predictions or metrics of several models), checking their columns."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not paths:
        raise ProductError("<no file>", "no table given")
    columns = list(columns)
    frames = []
    for path in paths:
        if not os.path.isfile(path):
            raise ProductError(path, "table not found")
        try:
            table = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise ProductError(path, f"not a readable CSV table ({err})") from err
        require_columns(table, columns, path)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def model_keys(table: pd.DataFrame) -> list[tuple[str, object]]:
    """The (model, variant) pairs of a tidy table in order of appearance; variant is None without that column."""
    if "variant" in table:
        pairs = table[["model", "variant"]].astype(str).drop_duplicates().itertuples(index=False)
        return [(m, None if v in ("nan", "None", "") else v) for m, v in pairs]
    return [(m, None) for m in table["model"].astype(str).drop_duplicates()]


def select_model(table: pd.DataFrame, model: str, variant: object = None) -> pd.DataFrame:
    """Rows of one model (and variant), repeat-averaged rows only when the table has repeats."""
    rows = table["model"].astype(str) == model
    if variant is not None and "variant" in table:
        rows &= table["variant"].astype(str) == str(variant)
    if "repeat" in table and (table["repeat"].astype(str) == "mean").any():
        rows &= table["repeat"].astype(str) == "mean"
    return table[rows]


@dataclass(frozen=True)
class MapLayer:
    """One band of a stored map raster with what a figure needs to draw it."""

    values: np.ndarray
    extent: tuple[float, float, float, float]  # left, right, bottom, top in the raster's CRS units
    crs: str
    units: str
    tags: dict[str, str]


def read_map(path: str | os.PathLike, band: str | None = None, units: str | None = None) -> MapLayer:
    """Read one band (by description, else the first) of a map COG; units come from the tags unless given."""
    import rasterio

    if not os.path.isfile(path):
        raise ProductError(path, "map raster not found")
    try:
        with rasterio.open(path) as src:
            names = list(src.descriptions)
            index = 1
            if band is not None:
                if band not in names:
                    raise ProductError(path, f"no band {band!r}; bands are {names}")
                index = names.index(band) + 1
            values = src.read(index).astype(np.float32)
            if src.nodata is not None and not np.isnan(src.nodata):
                values[values == src.nodata] = np.nan
            tags = src.tags()
            band_tags = src.tags(index)
            if src.crs is None:
                raise ProductError(path, "raster has no CRS")
            crs = src.crs.to_string()
            left, bottom, right, top = src.bounds
    except rasterio.errors.RasterioIOError as err:
        raise ProductError(path, f"not a readable raster ({err})") from err
    found = units or band_tags.get("units") or tags.get("units")
    if not found:
        raise ProductError(path, "no 'units' tag on the raster or its band")
    return MapLayer(values, (left, right, bottom, top), crs, found, tags)


def scale_bar(ax: Axes, extent_km: tuple[float, float, float, float]) -> None:
    """Draw a black-and-white scale bar in km in the lower left of a map axes whose data units are km."""
    # Written here because matplotlib has no scale bar of its own and one small helper beats a dependency.
    width = extent_km[1] - extent_km[0]
    nice = np.array([0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 500])
    length = float(nice[nice <= width / 4].max()) if (nice <= width / 4).any() else width / 4
    x0 = extent_km[0] + 0.05 * width
    y0 = extent_km[2] + 0.06 * (extent_km[3] - extent_km[2])
    height = 0.015 * (extent_km[3] - extent_km[2])
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(
            plt.Rectangle(
                (x0 + i * length / 2, y0), length / 2, height, facecolor=colour, edgecolor="black", lw=0.6, zorder=5
            )
        )
    text = f"{length:g} km"
    ax.text(
        x0 + length / 2,
        y0 + 1.6 * height,
        text,
        ha="center",
        va="bottom",
        fontsize=8,
        zorder=5,
        bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.7),
    )


def map_panel(
    ax: Axes,
    layer: MapLayer,
    label: str,
    cmap: str = "viridis",
    values: np.ndarray | None = None,
    limits: tuple[float, float] | None = None,
) -> None:
    """Draw a map layer on an axes in km of its CRS, with a colour bar labelled `label` and a scale bar."""
    data = layer.values if values is None else values
    extent_km = cast("tuple[float, float, float, float]", tuple(v / 1000.0 for v in layer.extent))
    finite = data[np.isfinite(data)]
    if limits is None:
        limits = (float(np.percentile(finite, 2)), float(np.percentile(finite, 98))) if finite.size else (0.0, 1.0)
        if limits[0] == limits[1]:
            limits = (limits[0] - 0.5, limits[1] + 0.5)
    ax.set_facecolor("0.85")  # pixels without a value show grey, apart from the colour map's ends
    image = ax.imshow(data, extent=extent_km, cmap=cmap, vmin=limits[0], vmax=limits[1], interpolation="nearest")
    ax.set_xlabel("Easting (km)")
    ax.set_ylabel("Northing (km)")
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))
    ax.figure.colorbar(image, ax=ax, label=label, shrink=0.85)
    scale_bar(ax, extent_km)


def panels(count: int, size: float, columns: int) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure with `count` panels in rows of at most `columns`; spare cells hidden."""
    cols = max(1, min(count, columns))
    rows = int(np.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + 0.8, size * rows), layout="constrained", squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:count])


def crs_name(crs: str) -> str:
    """A short CRS name for a title: 'EPSG:32632' -> 'EPSG:32632'; a WKT keeps its first quoted name."""
    if crs.upper().startswith("EPSG:"):
        return crs.upper()
    if '"' in crs:
        return crs.split('"')[1]
    return crs[:30]


def _texts(fig: Figure) -> list[tuple[str, Text]]:
    """Every visible, non-empty text artist of a figure with a name saying where it is."""
    found: list[tuple[str, Text]] = [(f"figure text {t.get_text()!r}", t) for t in fig.texts]
    for n, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        where = f"axes {n}"
        found += [(f"{where} title {t.get_text()!r}", t) for t in (ax.title, ax._left_title, ax._right_title)]  # type: ignore[attr-defined]  # private title artists
        found += [(f"{where} xlabel", ax.xaxis.label), (f"{where} ylabel", ax.yaxis.label)]
        for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            if not axis.get_visible():  # a twin's hidden axis
                continue
            # Axis keeps a pool of tick objects, some stale; _update_ticks returns exactly the ticks it draws.
            for tick in axis._update_ticks():  # type: ignore[union-attr]  # private Axis method
                found += [
                    (f"{where} {name}-tick {t.get_text()!r}", t) for t in (tick.label1, tick.label2) if t.get_visible()
                ]
            found.append((f"{where} {name} offset", axis.get_offset_text()))
        found += [(f"{where} text {t.get_text()!r}", t) for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            found += [(f"{where} legend {t.get_text()!r}", t) for t in legend.get_texts()]
            found.append((f"{where} legend title", legend.get_title()))
    for legend in fig.legends:
        found += [(f"figure legend {t.get_text()!r}", t) for t in legend.get_texts()]
    return [(name, t) for name, t in found if t.get_visible() and t.get_text().strip()]


def layout_problems(fig: Figure) -> list[str]:
    """Texts that leave the figure or overlap another text, measured with the renderer's window extents."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # the Agg canvas has one; the base stub does not
    width, height = fig.canvas.get_width_height()
    boxes = [(name, t.get_window_extent(renderer)) for name, t in _texts(fig)]
    problems = []
    for name, box in boxes:
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            problems.append(f"{name} leaves the figure ({box.x0:.0f}, {box.y0:.0f}, {box.x1:.0f}, {box.y1:.0f})")
    for i, (name_a, a) in enumerate(boxes):
        for name_b, b in boxes[i + 1 :]:
            # A one-pixel tolerance: glyph boxes of stacked lines touch without ink overlapping.
            if min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1:
                problems.append(f"{name_a} overlaps {name_b}")
    return problems
