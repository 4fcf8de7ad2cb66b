"""The bit flags of SMAP products: the quality bit, as the products' flag_masks and flag_meanings define it.

In every SMAP quality flag (retrieval_qual_flag, tb_qual_flag_*, cell_tb_qual_flag_*, disaggregated_tb_v_qual_flag)
bit 0 (mask 1) is the overall one: 0 means the value has recommended (or acceptable) quality, 1 that it has
not. A cell without a value carries the flag's _FillValue (65534 in uint16 flags).
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from soilsat.errors import ProductError
from soilsat.nasa.h5file import fill_value, text

QUALITY_BIT = 1


def flag_bits(ds: h5py.Dataset, path: str | os.PathLike) -> dict[str, int]:
    """Meaning -> mask of a flag dataset, from its flag_masks ('1s, 2s, 4s') and flag_meanings attributes."""
    if "flag_masks" not in ds.attrs or "flag_meanings" not in ds.attrs:
        raise ProductError(path, f"{ds.name} has no flag_masks and flag_meanings attributes")
    masks = [int(m.strip().rstrip("s")) for m in text(ds.attrs["flag_masks"]).split(",") if m.strip()]
    meanings = text(ds.attrs["flag_meanings"]).split()
    if len(masks) != len(meanings):
        raise ProductError(path, f"{ds.name} lists {len(masks)} flag masks but {len(meanings)} meanings")
    return dict(zip(meanings, masks))


def recommended(flags: np.ndarray, fill: int | None) -> np.ndarray:
    """Where a quality flag says the value has recommended quality: bit 0 clear and not the fill value."""
    flags = np.asarray(flags)
    good = (flags & QUALITY_BIT) == 0
    return good if fill is None else good & (flags != fill)


def recommended_of(ds: h5py.Dataset, values: np.ndarray) -> np.ndarray:
    """recommended() of values read from a flag dataset, with the dataset's own fill value."""
    fill = fill_value(ds)
    return recommended(values, None if fill is None else int(fill))
