"""Settings objects: frozen dataclasses built from one validated config section, the schema holding the defaults.

A rule hands a config section to its script as one `params:` entry; the script builds the settings with
`SomeSettings.from_config(snakemake.params.<section>)` and passes them on. The fields carry no defaults:
the schema (rules/schemas/config.schema.yaml) is the one place a default lives. This module imports only
the standard library (the Snakefile imports settings classes while it is parsed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self

from soilsat.errors import ConfigError


def as_tuples(value: Any) -> Any:
    """A config value with its lists turned into tuples (settings are frozen and hashable)."""
    if isinstance(value, list | tuple):
        return tuple(as_tuples(v) for v in value)
    return value


class Settings:
    """Base of a settings dataclass whose field names are the keys of its config section."""

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Self:
        """The settings of a validated config section: each field read by its key, the section's other keys left."""
        names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]  # a dataclass subclass
        missing = [name for name in names if name not in section]
        if missing:
            raise ConfigError(
                f"{cls.__name__}: the config section lacks the keys {missing} "
                "(validate the config against the schema, which fills the defaults)"
            )
        return cls(**{name: as_tuples(section[name]) for name in names})
