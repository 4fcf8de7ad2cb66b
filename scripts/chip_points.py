"""Rule chip_points: the LUCAS points of a point study on chips, each with its UTM zone, region label and batch."""

from pathlib import Path

from soilsat.acquire.tables import read_lucas
from soilsat.extract.chip_points import chip_points, point_chip_shape
from soilsat.grid import grid_from_config
from soilsat.io import atomic_path
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    lucas = sorted(Path(snakemake.input.lucas).glob("*.csv"))
    if not lucas:
        raise FileNotFoundError(f"{snakemake.input.lucas}: no LUCAS table (*.csv) in the folder")
    grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
    shape = point_chip_shape(params.chips["halo_m"], params.mask_dilation_px, params.grid["resolution"])
    points = chip_points(read_lucas(lucas[0]), grids, shape, params.chips["points_per_job"])
    with atomic_path(snakemake.output[0]) as tmp:
        points.to_csv(tmp, index=False)
    log.info("%d points from %s in %d batches", len(points), lucas[0], points["batch"].nunique())
