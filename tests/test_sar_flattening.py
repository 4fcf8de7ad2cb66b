"""Terrain flattening (soilsat.sar.flattening) in the builtin engine: gamma0 on the demo world's hilly region
against its gamma0 truth, flatter than sigma0 against the local incidence angle, and the CEOS-ARD layers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from scipy import ndimage

from soilsat.errors import ConfigError
from soilsat.io import read_bands
from soilsat.sar import engine, flattening, graph
from soilsat.sar.geocoding import Geometry
from test_sar_graph import sentinel1_settings


@pytest.fixture(scope="module")
def hilly(tmp_path_factory):
    """A demo world of one upland region (slopes up to about 25 degrees) with two products, its DEM and truth."""
    from soilsat.demo.ancillary import write_dem
    from soilsat.demo.sentinel1 import write_products
    from soilsat.demo.world import RegionSpec, WorldSpec, make_world

    root = tmp_path_factory.mktemp("hilly")
    spec = WorldSpec(
        regions=(RegionSpec("u", 8.95, 55.95, 2000, "upland"),),
        start=date(2020, 4, 1),
        end=date(2020, 4, 8),
        probes_per_region=3,
        lucas_samples=10,
    )
    regions = make_world(spec)
    records = write_products(regions, spec, root / "archive", root / "truth", workers=1)
    write_dem(regions, root / "dem")
    return root, regions[0], records


def run(hilly, out_dir: Path, rec: dict, **overrides) -> Path:
    """One product of the hilly world through the builtin chain with the config's settings and `overrides`."""
    root, region, _ = hilly
    settings = sentinel1_settings(**overrides)
    xml = graph.build_graph(
        root / "archive" / rec["path"], out_dir / "x.dim", region.grid, root / "dem" / "dem_u.tif", settings
    )
    tag = "_".join(f"{k}-{v}" for k, v in overrides.items()) or "default"
    g = out_dir / f"{rec['name']}.{tag}.graph.xml"
    graph.write_graph(g, xml)
    out = out_dir / f"{rec['name']}.{tag}.tif"
    engine.run_graph(g, region.grid, out)
    return out


@pytest.fixture(scope="module")
def outputs(hilly, tmp_path_factory):
    """Each product as sigma0 and as gamma0 with the CEOS-ARD layers."""
    out_dir = tmp_path_factory.mktemp("hilly_out")
    return [
        (rec, run(hilly, out_dir, rec), run(hilly, out_dir, rec, radiometry="gamma0", ard_layers=True))
        for rec in hilly[2]
    ]


def field_means(region, image: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Mean over the interior (2 pixels in) of every parcel of at least 100 interior pixels (`valid` ones only)."""
    labels = region.truth["parcel"].values
    interior = ndimage.minimum_filter(labels, 5) == ndimage.maximum_filter(labels, 5)
    if valid is not None:
        interior &= valid
    ids, counts = np.unique(labels[interior], return_counts=True)
    big = ids[counts >= 100]
    assert big.size >= 20
    return ndimage.mean(image.astype(float), labels=np.where(interior, labels, -1), index=big)


def test_gamma0_is_defined_nearly_everywhere(outputs):
    for _, _, gamma in outputs:
        bands = read_bands(gamma)
        # image pixels without enough illuminated area (SNAP's 5 % of a flat pixel's) only: none on these slopes,
        # but the grid's outermost pixels, whose image pixels lack the facets beyond the grid
        inner = bands["gamma0_VV"][2:-2, 2:-2]
        assert np.isfinite(inner).all()


def test_the_hilly_region_is_hilly(hilly):
    h = hilly[1].truth["elevation"].values
    gy, gx = np.gradient(h, 10.0)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    assert np.percentile(slope, 50) > 6 and np.percentile(slope, 99) > 15


def test_gamma0_against_the_truth_over_fields(hilly, outputs):
    root, region, _ = hilly
    for rec, _, gamma in outputs:
        ours = read_bands(gamma)
        truth = read_bands(root / "truth" / "sentinel1" / f"{rec['name']}_u.tif")
        valid = ours["mask"] == 1
        for pol in ("VV", "VH"):
            t = field_means(region, truth[f"gamma0_{pol}"], valid)
            diff = 10 * np.log10(field_means(region, ours[f"gamma0_{pol}"], valid) / t)
            strong = 10 * np.log10(t) > -20  # well above the noise floor (NESZ about -24 dB)
            if strong.sum() >= 10:
                assert np.median(np.abs(diff[strong])) <= 0.3, f"{rec['name']} {pol}: {np.round(diff[strong], 2)}"
            else:
                assert pol == "VH"


def _slope_db_per_degree(image: np.ndarray, lia: np.ndarray, ok: np.ndarray) -> float:
    """The least-squares slope of backscatter (dB) against the local incidence angle over the pixels `ok`."""
    m = ok & np.isfinite(image) & (image > 0) & np.isfinite(lia)
    return float(np.polyfit(lia[m], 10 * np.log10(image[m]), 1)[0])


def test_gamma0_is_flatter_than_sigma0_against_the_local_incidence_angle(hilly, outputs):
    root = hilly[0]
    for rec, sigma, gamma in outputs:
        s, g = read_bands(sigma), read_bands(gamma)
        truth = read_bands(root / "truth" / "sentinel1" / f"{rec['name']}_u.tif")
        lia = s["local_incidence_angle"]
        ok = s["mask"] == 1
        slopes = {
            "sigma0": _slope_db_per_degree(s["sigma0_VV"], lia, ok),
            "gamma0": _slope_db_per_degree(g["gamma0_VV"], lia, ok),
            "truth": _slope_db_per_degree(truth["gamma0_VV"], lia, ok),
        }
        # sigma0 falls by about 0.2 dB a degree of local incidence (the terrain's brightening of slopes facing
        # the radar); gamma0 is nearly flat, as the truth's gamma0 (whose water-cloud soil term keeps a little)
        assert slopes["sigma0"] < -0.12, slopes
        assert abs(slopes["gamma0"]) < 0.5 * abs(slopes["sigma0"]), slopes
        assert abs(slopes["gamma0"] - slopes["truth"]) < 0.04, slopes


def test_the_ceos_ard_layers(outputs):
    rec, sigma, gamma = outputs[0]
    with rasterio.open(gamma) as src:
        names = list(src.descriptions)
        tags = {name: src.tags(k + 1) for k, name in enumerate(names)}
        assert src.tags()["radiometry"] == "gamma0"
    assert names == [
        "gamma0_VV",
        "gamma0_VH",
        "incidence_angle",
        "local_incidence_angle",
        "mask",
        "noise_power_VV",
        "noise_power_VH",
        "scattering_area",
        "gamma_sigma_ratio",
    ]
    for name in names:  # every layer has units (the mask's codes excepted) and a description
        assert tags[name]["description"] and tags[name]["long_name"]
        assert bool(tags[name].get("units")) == (name != "mask"), name
    assert tags["scattering_area"]["units"] == "m2"
    bands = read_bands(gamma)
    ok = bands["mask"] == 1
    # flat terrain would give 100 m2 x cos(incidence); slopes facing the radar more, others less
    area = bands["scattering_area"][ok]
    expected = 100 * np.cos(np.radians(bands["incidence_angle"][ok]))
    assert 0.9 < np.median(area / expected) < 1.1 and area.min() > 0
    ratio = bands["gamma_sigma_ratio"][ok]
    cos_lia = np.cos(np.radians(bands["local_incidence_angle"][ok]))
    assert np.median(np.abs(ratio - cos_lia)) < 0.03  # the gamma projection over the ground area: cos(local)
    nesz_db = 10 * np.log10(bands["noise_power_VV"][ok])
    assert -27 < np.median(nesz_db) < -21  # the demo's NESZ, -23.5 dB with a 1.2 dB ripple over range
    # the sigma0 output keeps its layout: the layers come with the option only
    with rasterio.open(sigma) as src:
        assert src.descriptions == ("sigma0_VV", "sigma0_VH", "incidence_angle", "local_incidence_angle", "mask")


def test_oversampling_splits_facets_and_agrees(hilly, outputs, tmp_path):
    rec, _, gamma = outputs[0]
    assert flattening.subfacets(10.0, 10.0, 10.0, 1.0) == 1
    assert flattening.subfacets(10.0, 10.0, 9.98, 1.0) == 2  # SNAP: ceil(DEM pixel / smaller spacing)
    assert flattening.subfacets(10.0, 10.0, 10.0, 2.5) == 3
    twice = read_bands(
        run(hilly, tmp_path, rec, radiometry="gamma0", **{"terrain_flattening.oversampling_multiple": 2.0})
    )
    once = read_bands(gamma)
    ok = once["mask"] == 1
    diff = 10 * np.log10(twice["gamma0_VV"][ok] / once["gamma0_VV"][ok])
    assert np.nanmedian(np.abs(diff)) < 0.2 and abs(np.nanmedian(diff)) < 0.02


def test_terrain_flattening_must_use_the_terrain_correction_dem(hilly, tmp_path):
    root, region, records = hilly
    xml = graph.build_graph(
        root / "archive" / records[0]["path"],
        tmp_path / "x.dim",
        region.grid,
        root / "dem" / "dem_u.tif",
        sentinel1_settings(radiometry="gamma0"),
    )
    nodes = graph.parse_graph(xml)
    for n in nodes:
        if n.id == "Terrain-Flattening":
            n.parameters["externalDEMFile"] = str(tmp_path / "other.tif")
    path = tmp_path / "g.xml"
    graph.write_graph(path, graph.to_xml(nodes))
    with pytest.raises(ConfigError, match="flattens on Terrain-Correction's external DEM file"):
        engine.read_chain(path)


def _tilted_geometry(rows: int, cols: int, shear: float) -> Geometry:
    """Facets of a rows x cols grid whose image positions move 1.1 samples a column and `shear` samples a row."""
    i, j = np.mgrid[0:rows, 0:cols].astype(float)
    rng = np.random.default_rng(3)
    ones = np.ones((rows, cols))
    return Geometry(
        heights=np.zeros((rows, cols), np.float32),
        line=20.0 + 1.05 * i + 0.2 * j + rng.uniform(-0.3, 0.3, (rows, cols)),
        pixel=20.0 + 1.1 * j + shear * i,
        cos_incidence=0.8 * ones,
        cos_local_incidence=rng.uniform(0.2, 1.0, (rows, cols)),
        layover=np.zeros((rows, cols), bool),
        passive_shadow=rng.uniform(size=(rows, cols)) < 0.05,
        surface_area=100.0 * ones,
    )


def _areas(geo: Geometry, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """The gamma and sigma areas the facets of geo add to an image of 900 x 4200 pixels on `threads` threads."""
    import numba

    gamma, sigma = np.zeros((900, 4200), np.float32), np.zeros((900, 4200), np.float32)
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        flattening.scatter(geo, 0.0, 0.0, 1, gamma, sigma)
    finally:
        numba.set_num_threads(before)
    return gamma, sigma


@pytest.mark.parametrize("shear", [0.2, 5.0])  # bands of columns apart (added side by side), or not (one thread)
def test_facet_areas_do_not_depend_on_the_thread_count(shear):
    geo = _tilted_geometry(300, 2 * flattening.BAND_COLUMNS + 300, shear)
    one, two = _areas(geo, 1), _areas(geo, 2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    # every lit facet's area lands in the image, once: the sums are the facets' gamma and ground areas
    lit = ~geo.passive_shadow
    assert one[0].sum(dtype=float) == pytest.approx((geo.surface_area * geo.cos_local_incidence)[lit].sum(), 1e-5)
    assert one[1].sum(dtype=float) == pytest.approx(geo.surface_area[lit].sum(), 1e-5)
