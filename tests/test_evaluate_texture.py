"""USDA texture classes at points well inside each class of the triangle."""

from __future__ import annotations

import pytest

from soilsat.evaluate.texture import texture_class, texture_classes


@pytest.mark.parametrize(
    ("sand", "silt", "clay", "expected"),
    [
        (92, 4, 4, "sand"),
        (82, 12, 6, "loamy sand"),
        (65, 25, 10, "sandy loam"),
        (40, 40, 20, "loam"),
        (20, 65, 15, "silt loam"),
        (5, 88, 7, "silt"),
        (60, 12, 28, "sandy clay loam"),
        (32, 34, 34, "clay loam"),
        (10, 58, 32, "silty clay loam"),
        (52, 6, 42, "sandy clay"),
        (6, 47, 47, "silty clay"),
        (20, 20, 60, "clay"),
    ],
)
def test_classes(sand, silt, clay, expected):
    assert texture_class(sand, silt, clay) == expected


def test_fractions_are_normalised_and_missing_ones_unknown():
    assert texture_class(0.4, 0.4, 0.2) == "loam"  # fractions of one
    assert texture_class(float("nan"), 40, 20) == "unknown"
    assert list(texture_classes([92, 20], [4, 20], [4, 60])) == ["sand", "clay"]
