"""Rule chip_search: the STAC items of one source (Sentinel-2 L2A, Sentinel-1 GRD) over the chip route's points and
the study period, from a STAC API search or a product list."""

from soilsat.acquire.download import RetryPolicy
from soilsat.config import period
from soilsat.extract.chip_items import listed_items, search_point_items, write_items
from soilsat.extract.chip_points import read_points
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    points = read_points(snakemake.input.points)
    start, end = period({"period": params.period})
    source = params.chips[snakemake.wildcards.source]
    listed = snakemake.input.get("listed")
    if listed:
        items = listed_items(listed, points, start, end)
    else:
        policy = RetryPolicy.from_config(params.chips["retries"])
        items = search_point_items(
            source["stac_api"], source["collection"], points, start, end, params.chips["page_size"], policy
        )
    write_items(snakemake.output[0], items)
    log.info("%s: %d items over %d points", snakemake.wildcards.source, len(items), len(points))
