"""A study's STAC Collection: one Collection linking a child Collection per source and region, each linking the
Items that lie beside that source's output COGs.

    results/<study>/stac/collection.json                     the study (children: sentinel1-<region>, ...)
    results/<study>/stac/<source>-<region>/collection.json   one grid's Items of one source
    results/<study>/<source>/<region>/<product>.json          an Item, beside its COG

A child holds the Items of one study grid, so that its Items load together on their native grid
(``odc.stac.load(study.get_child("sentinel1-skjern").get_items(), bands=[...])``). Every link is
relative, so the folder can move or be served as it is; each Collection is validated offline
(:mod:`soilsat.stac.validation`) before it is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from soilsat.io import atomic_path
from soilsat.stac.items import EXTENSIONS, STAC_VERSION
from soilsat.stac.validation import validate

SOURCE_TITLES = {"sentinel1": "Sentinel-1 GRD backscatter", "sentinel2": "Sentinel-2 Level-2A reflectance"}
LICENCE = "proprietary"  # Copernicus Sentinel data: free and open under the Sentinel data legal notice


def _extent(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The spatial (union of bboxes) and temporal (first to last datetime) extent of Items."""
    if not items:
        return {"spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]}, "temporal": {"interval": [[None, None]]}}
    boxes = [i["bbox"] for i in items]
    times = sorted(
        t for i in items for t in (i["properties"].get("start_datetime") or i["properties"]["datetime"],)
    ) + sorted(i["properties"].get("end_datetime") or i["properties"]["datetime"] for i in items)
    return {
        "spatial": {
            "bbox": [
                [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
            ]
        },
        "temporal": {"interval": [[min(times), max(times)]]},
    }


def _summaries(items: Sequence[Mapping[str, Any]]) -> dict[str, list]:
    """The distinct values of the Items' shared string properties (platform, orbit state, CEOS-ARD fields)."""
    keys = (
        "platform",
        "constellation",
        "sat:orbit_state",
        "ceosard:type",
        "ceosard:specification",
        "ceosard:specification_version",
        "soilsat:radiometry",
    )
    out = {}
    for key in keys:
        values = sorted({str(i["properties"][key]) for i in items if key in i["properties"]})
        if values:
            out[key] = values
    return out


def child_collection(
    source: str, region: str, item_paths: Sequence[str | os.PathLike], path: str | os.PathLike
) -> dict[str, Any]:
    """The Collection of one source's Items on one region's grid, to be written at `path` (relative links)."""
    path = Path(path)
    items = [json.loads(Path(p).read_text(encoding="utf-8")) for p in item_paths]
    summaries = _summaries(items)
    collection = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [EXTENSIONS["ceos-ard"]] if any(k.startswith("ceosard:") for k in summaries) else [],
        "id": f"{source}-{region}",
        "title": f"{SOURCE_TITLES.get(source, source)}, {region} study grid",
        "description": f"soilsat's {SOURCE_TITLES.get(source, source)} outputs on the study grid of region {region}.",
        "license": LICENCE,
        "extent": _extent(items),
        "summaries": summaries,
        "links": [
            {"rel": "root", "href": "../collection.json", "type": "application/json"},
            {"rel": "parent", "href": "../collection.json", "type": "application/json"},
            {"rel": "self", "href": "./collection.json", "type": "application/json"},
        ]
        + [
            {
                "rel": "item",
                "href": os.path.relpath(Path(p).resolve(), path.resolve().parent),
                "type": "application/geo+json",
            }
            for p in item_paths
        ],
    }
    validate(collection, str(path))
    return collection


def study_collection(study: str, description: str, children: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The study's Collection over its children (id -> child Collection), whose files lie in folders of their id."""
    kids = list(children.values())
    bboxes = [c["extent"]["spatial"]["bbox"][0] for c in kids]
    starts = [c["extent"]["temporal"]["interval"][0][0] for c in kids if c["extent"]["temporal"]["interval"][0][0]]
    ends = [c["extent"]["temporal"]["interval"][0][1] for c in kids if c["extent"]["temporal"]["interval"][0][1]]
    extent = {
        "spatial": {
            "bbox": [
                [
                    min(b[0] for b in bboxes),
                    min(b[1] for b in bboxes),
                    max(b[2] for b in bboxes),
                    max(b[3] for b in bboxes),
                ]
            ]
            if bboxes
            else [[-180.0, -90.0, 180.0, 90.0]]
        },
        "temporal": {"interval": [[min(starts) if starts else None, max(ends) if ends else None]]},
    }
    collection = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": study,
        "title": f"soilsat study {study}",
        "description": description,
        "license": LICENCE,
        "extent": extent,
        "links": [
            {"rel": "root", "href": "./collection.json", "type": "application/json"},
            {"rel": "self", "href": "./collection.json", "type": "application/json"},
        ]
        + [
            {"rel": "child", "href": f"./{child_id}/collection.json", "type": "application/json", "title": c["title"]}
            for child_id, c in children.items()
        ],
    }
    validate(collection, f"collection of study {study}")
    return collection


def write_collection(collection: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a Collection as JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(collection, indent=1) + "\n", encoding="utf-8")


def write_study(
    study: str,
    description: str,
    items: Mapping[tuple[str, str], Sequence[str | os.PathLike]],
    folder: str | os.PathLike,
) -> list[Path]:
    """Write a study's Collection and its children ((source, region) -> Item files) under `folder`; the paths
    written, the study's first."""
    folder = Path(folder)
    children = {}
    paths = [folder / "collection.json"]
    for (source, region), item_paths in items.items():
        path = folder / f"{source}-{region}" / "collection.json"
        children[f"{source}-{region}"] = child_collection(source, region, item_paths, path)
        paths.append(path)
    for path, child in zip(paths[1:], children.values()):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_collection(child, path)
    write_collection(study_collection(study, description, children), paths[0])
    return paths
