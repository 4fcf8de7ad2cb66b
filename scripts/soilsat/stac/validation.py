"""Offline validation of STAC Items and Collections against the vendored JSON schemas (schemas/README.md).

A document is checked against the core schema of its type (Item or Collection, STAC 1.0.0) and
against the schema of every extension it lists in ``stac_extensions``; references between schemas
resolve to the files under ``schemas/``, laid out by the host and path of their ``$id``, so nothing is
fetched. An extension without a vendored schema is an error, not a pass.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from referencing.jsonschema import DRAFT7

from soilsat.errors import SoilsatError

SCHEMAS = Path(__file__).parent / "schemas"
CORE = {
    "Feature": "https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/item.json",
    "Collection": "https://schemas.stacspec.org/v1.0.0/collection-spec/json-schema/collection.json",
}


class StacError(SoilsatError):
    """A STAC document that does not validate."""


@functools.cache
def registry() -> referencing.Registry:
    """Every vendored schema by the URL of its file (and by its $id, which some write with a trailing '#')."""
    resources = []
    for path in sorted(SCHEMAS.rglob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        url = "https://" + path.relative_to(SCHEMAS).as_posix()
        resource = referencing.Resource.from_contents(contents, default_specification=DRAFT7)
        resources.append((url, resource))
        declared = str(contents.get("$id", "")).rstrip("#")
        if declared and declared != url:
            resources.append((declared, resource))
    return referencing.Registry().with_resources(resources)


def schema_urls(document: dict[str, Any]) -> list[str]:
    """The schemas a document must pass: its type's core schema, then its extensions'."""
    kind = document.get("type")
    if kind not in CORE:
        raise StacError(f"not a STAC Item or Collection (type {kind!r})")
    return [CORE[kind], *document.get("stac_extensions", [])]


def errors(document: dict[str, Any]) -> list[str]:
    """What is wrong with a document, one line per error ('schema: path: message'); empty when it validates."""
    found = []
    reg = registry()
    for url in schema_urls(document):
        try:
            schema = reg.contents(url)
        except referencing.exceptions.NoSuchResource:
            found.append(f"{url}: no vendored schema (soilsat/stac/schemas) for this extension")
            continue
        validator = jsonschema.Draft7Validator(schema, registry=reg)
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(document)"
            found.append(f"{url}: {where}: {error.message}")
    return found


def validate(document: dict[str, Any], where: str = "STAC document") -> None:
    """StacError listing every error unless the document validates against its core and extension schemas."""
    found = errors(document)
    if found:
        raise StacError(f"{where} does not validate:\n" + "\n".join(found[:20]))
