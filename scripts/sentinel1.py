"""Rule sentinel1_sigma0: one GRD product through the SNAP graph to sigma0 (or gamma0) on one region's study grid,
with its STAC Item beside it."""

from pathlib import Path

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.grid import grid_from_config
from soilsat.io import write_dataset_cog
from soilsat.logs import to_file
from soilsat.sar import graph, snap
from soilsat.sar.dem import declared_nodata
from soilsat.sar.engine import GraphOutput, product_tags, run_graph, set_threads
from soilsat.sar.orbit import read_eof
from soilsat.sar.safe import open_product
from soilsat.stac.items import sentinel1_item, write_item

settings = snakemake.params.sentinel1
with to_file(snakemake.log[0]) as log:
    with open_product(snakemake.input.product) as product:
        product.require_grd()  # both engines run the GRD chain
    grid = grid_from_config(snakemake.params.region, snakemake.params.grid)
    dem = Path(snakemake.input.dem) / f"dem_{grid.region}.tif"
    output = Path(snakemake.output.raster)
    staging = output.parent / f".{output.stem}.snap.dim"  # where SNAP's Write node puts its BEAM-DIMAP product
    orbits = list(snakemake.input.get("orbits", []))
    orbit_kind = read_eof(orbits[0]).kind if orbits else None  # the acquired file's type is what the graph asks for
    xml = graph.build_graph(snakemake.input.product, staging, grid, dem, settings, declared_nodata(dem), orbit_kind)
    graph.write_graph(snakemake.output.graph, xml)
    tags = {
        "region": grid.region,
        "engine": settings["engine"],
        "graph_hash": graph.graph_hash(xml),
        "attribution": COPERNICUS_ATTRIBUTION,
    }
    log.info(
        "%s on the %s grid with engine %s (graph %s)",
        snakemake.wildcards.product,
        grid.region,
        settings["engine"],
        tags["graph_hash"],
    )
    if settings["engine"] == "snap":
        dataset = snap.run_graph(
            snakemake.output.graph,
            staging,
            grid,
            settings["polarisations"],
            settings["snap"],
            snakemake.threads,
            snakemake.resources.mem_mb,
            orbit_files=orbits,
            radiometry=settings["radiometry"],
        )
        with open_product(snakemake.input.product) as product:
            dataset.attrs.update(product_tags(product))
        write_dataset_cog(output, dataset, grid, tags=tags)
        result = GraphOutput.of_mask(dataset["mask"].values, dataset.attrs)
    else:
        set_threads(snakemake.threads)
        result = run_graph(snakemake.output.graph, grid, output, orbit_files=orbits, tags=tags)
    log.info("valid fraction on the grid: %.3f", result.valid_fraction)
    item = sentinel1_item(output, snakemake.output.item, snakemake.output.graph, snakemake.input.product)
    write_item(item, snakemake.output.item)
    log.info("STAC Item %s written (validated offline)", snakemake.output.item)
