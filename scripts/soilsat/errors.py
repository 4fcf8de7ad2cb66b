"""Errors a user can act on: each names the file or key and what is wrong."""

from __future__ import annotations

import os


class SoilsatError(Exception):
    """Base class of soilsat's user-facing errors."""


class ProductError(SoilsatError):
    """A product or input file is missing, unreadable or inconsistent."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(SoilsatError):
    """The configuration is invalid."""
