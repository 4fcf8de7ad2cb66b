"""Reference geocoding by the annotation's geolocation grid (soilsat.sar.reference.geolocation_grid) on ESA's
real grids: reproducing the nodes, predicting withheld ones, the height shift."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from conftest import real_fixture
from soilsat.grid import region_grid
from soilsat.sar import safe
from soilsat.sar.reference import geolocation_grid

S1B = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"
S1A = "S1A_IW_GRDH_1SDV_20150203T043109_20150203T043134_004454_00574F_6D00.zip"


@pytest.fixture(scope="module")
def s1b_annotation():
    return safe.open_product(real_fixture("s1", S1B)).annotation("VV")


def test_geocoding_reproduces_esa_nodes_on_a_study_grid(s1b_annotation):
    g = s1b_annotation.geolocation
    # a 60 km region in the middle of the scene (hilly: nodes up to ~1500 m), 50 m pixels
    grid = region_grid("abruzzo", 13.6, 41.85, 60000, 0, resolution=50.0)
    model = geolocation_grid.GeolocationModel.from_annotation(s1b_annotation, grid.crs)
    line, pixel = geolocation_grid.grid_to_image(model, grid)
    x, y = grid.to_grid_crs(g.longitude.values, g.latitude.values)
    inside = grid.contains(x, y)
    assert inside.sum() >= 6
    # fractional grid position of each node, then bilinear in the mapped arrays
    col = (np.asarray(x)[inside] - grid.x0) / grid.resolution - 0.5
    row = (grid.y0 - np.asarray(y)[inside]) / grid.resolution - 0.5
    got_line = geolocation_grid.sample_bilinear(line, row, col).astype(float)
    got_pixel = geolocation_grid.sample_bilinear(pixel, row, col).astype(float)
    err_line = np.abs(got_line - g.line.values[inside])
    err_pixel = np.abs(got_pixel - g.pixel.values[inside])
    assert err_line.max() < 0.5 and err_pixel.max() < 0.5, (err_line.max(), err_pixel.max())
    assert g.height.values[inside].max() > 500  # the height shift is really exercised


@pytest.mark.parametrize("name", [S1B, S1A])
@pytest.mark.parametrize("axis", ["pixel", "line"])
def test_geocoding_leave_one_out(name, axis):
    """Nodes of a withheld range column / azimuth row are predicted from the others, at their
    own heights (as with a DEM): between-node accuracy, not just reproduction of the nodes."""
    ann = safe.open_product(real_fixture("s1", name)).annotation("VV")
    g = ann.geolocation
    crs = f"EPSG:{region_grid('c', g.longitude.mean(), g.latitude.mean(), 1000, 0).epsg}"
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    worst = 0.0
    for p in np.unique(g[axis])[1:-1]:
        model = geolocation_grid.GeolocationModel.from_annotation(ann, crs, g[g[axis] != p])
        held = g[g[axis] == p]
        x, y = to_crs.transform(held.longitude.values, held.latitude.values)
        line, pixel = model.image_coords(x, y, height=held.height.values)
        worst = max(worst, np.abs(line - held.line.values).max(), np.abs(pixel - held.pixel.values).max())
    assert worst < 0.5, worst


def test_node_heights_shift_ground_positions(s1b_annotation):
    """With the node heights ignored (h = 0), mountain nodes land tens of pixels off."""
    g = s1b_annotation.geolocation
    crs = "EPSG:32633"
    model = geolocation_grid.GeolocationModel.from_annotation(s1b_annotation, crs)
    x, y = model.forward(g.line.values, g.pixel.values)
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xt, yt = to_crs.transform(g.longitude.values, g.latitude.values)
    assert np.hypot(x - xt, y - yt).max() < 1.0  # metres
    _, p0 = model.image_coords(xt, yt, height=np.zeros(len(g)))
    high = g.height.values > 1000
    assert np.all(p0[high] - g.pixel.values[high] > 50)
