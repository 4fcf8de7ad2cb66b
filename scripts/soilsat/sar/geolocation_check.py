"""Check our orbit and range-Doppler geometry against ESA's geolocation grid of a GRD product.

ESA annotates every GRD image with a grid of points: their latitude, longitude and
ellipsoidal height, and the zero-Doppler azimuth time, slant range time, line and pixel at
which the processor placed them. For every point this module solves the zero-Doppler time
and slant range with our interpolation of the annotation orbit and compares them with
ESA's, then turns them into image coordinates through the product's own slant-to-ground
range polynomials and compares those with ESA's line and pixel. The image-coordinate
error also holds the disagreement between ESA's polynomials and its grid (about half a
pixel on recent products, more on early ones), so it is reported, not bounded.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence

import numpy as np

from soilsat.errors import ProductError
from soilsat.sar.geocoding import RangeConversion
from soilsat.sar.orbit import SPEED_OF_LIGHT, annotation_orbit, geodetic_to_ecef, zero_doppler
from soilsat.sar.safe import MANIFEST, Annotation, S1Product, open_product, parse_annotation


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class PointErrors:
    """Per-point differences ours - ESA's over one annotation's geolocation grid."""

    azimuth_lines: np.ndarray  # zero-Doppler time difference in lines
    range_m: np.ndarray  # one-way slant range difference in metres
    line: np.ndarray  # image line difference
    pixel: np.ndarray  # image pixel difference


def point_errors(annotation: Annotation, method: str = "polynomial") -> PointErrors:
    """Differences between our range-Doppler solution and ESA's geolocation grid, point by point."""
    g = annotation.geolocation
    orbit = annotation_orbit(annotation, method)
    xyz = geodetic_to_ecef(g["longitude"].to_numpy(), g["latitude"].to_numpy(), g["height"].to_numpy())
    t, r = zero_doppler(orbit, xyz)
    t_esa = orbit.seconds(g["azimuthTime"].to_numpy("datetime64[ns]"))
    r_esa = g["slantRangeTime"].to_numpy() * SPEED_OF_LIGHT / 2.0
    t_first = orbit.seconds(np.datetime64(annotation.first_line_time, "ns"))
    line = (t - t_first) / annotation.azimuth_time_interval
    pixel = RangeConversion(annotation).pixel(line, r)
    return PointErrors(
        azimuth_lines=(t - t_esa) / annotation.azimuth_time_interval,
        range_m=r - r_esa,
        line=line - g["line"].to_numpy(float),
        pixel=pixel - g["pixel"].to_numpy(float),
    )


def summarize_errors(product: str, annotation: str, errors: PointErrors) -> dict:
    """The JSON record of one annotation: point count, worst azimuth/range errors, image-coordinate max and RMS."""
    distance = np.hypot(errors.line, errors.pixel)
    return {
        "product": product,
        "annotation": annotation,
        "points": int(distance.size),
        "azimuth_max_lines": float(np.max(np.abs(errors.azimuth_lines))),
        "range_max_m": float(np.max(np.abs(errors.range_m))),
        "max_px": float(np.max(distance)),
        "rms_px": float(np.sqrt(np.mean(distance**2))),
    }


def annotation_files(product: S1Product, polarisations: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(polarisation, relative path) of the product annotations to check, as the manifest lists them."""
    pols = [p.upper() for p in (polarisations or product.polarisations)]
    out = []
    for pol in pols:
        rel = product.files(pol).annotation
        if not rel:
            raise ProductError(product.describe(MANIFEST), f"lists no annotation file for polarisation {pol}")
        out.append((pol, rel))
    return out


def check_product(path: str | os.PathLike, polarisations: Sequence[str] | None = None) -> Iterator[dict]:
    """One record per annotation of a product (SAFE folder or zip); ProductError naming a missing annotation.

    Records of the annotations present come first; a missing one raises once they are out.
    """
    with open_product(path) as product:
        missing = []
        for pol, rel in annotation_files(product, polarisations):
            if not product.container.exists(rel):
                missing.append(product.describe(rel))
                continue
            ann = parse_annotation(product.container.xml(rel), product.describe(rel))
            yield summarize_errors(product.name, rel.rsplit("/", 1)[-1], point_errors(ann))
        if missing:
            raise ProductError(
                missing[0],
                "annotation file missing from the product"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            )
