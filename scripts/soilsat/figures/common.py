"""Shared figure helpers: attribution, saving."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from soilsat import COPERNICUS_ATTRIBUTION  # noqa: E402
from soilsat.io import atomic_path  # noqa: E402


def attribute(fig: Figure, year: str | int | None = None) -> None:
    """Stamp the Copernicus Sentinel attribution in the lower right corner."""
    text = COPERNICUS_ATTRIBUTION + (f" [{year}]" if year else "")
    fig.text(0.995, 0.005, text, ha="right", va="bottom", fontsize=7, color="0.35")


def save(fig: Figure, path: str | os.PathLike) -> None:
    """Save a figure atomically as PNG and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)
