"""The field's own validators, for tests: the IOOS compliance checker (CF) and rio-cogeo (COG)."""

from __future__ import annotations

import os

CF_SUITE = "cf:1.10"


def cf_failures(path: str | os.PathLike, weight: int = 2) -> list[str]:
    """Failed checks of the IOOS compliance checker's CF 1.10 suite of at least `weight` (3 high, 2 medium)."""
    from compliance_checker.runner import CheckSuite

    suite = CheckSuite()
    suite.load_all_available_checkers()
    dataset = suite.load_dataset(str(path))
    try:
        groups, errors = suite.run_all(dataset, [CF_SUITE])[CF_SUITE]
    finally:
        dataset.close()
    failures = [
        f"{result.name}: {msg}"
        for result in groups
        if result.weight >= weight and result.value[0] < result.value[1]
        for msg in (result.msgs or ["(no message)"])
    ]
    return failures + [f"check {name} raised {exc!r}" for name, (exc, _) in errors.items()]


def cog_problems(path: str | os.PathLike) -> list[str]:
    """Errors and warnings of rio-cogeo's COG validator."""
    from rio_cogeo.cogeo import cog_validate

    valid, errors, warnings = cog_validate(str(path), quiet=True)
    return [*errors, *warnings] if not valid or errors or warnings else []
