"""Logging of rule scripts into their Snakemake log files."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def to_file(path: str | os.PathLike, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Send soilsat's log records to `path` (and stderr) and record an uncaught error there too."""
    handlers: list[logging.Handler] = [logging.FileHandler(path, mode="w"), logging.StreamHandler(sys.stderr)]
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    # Third-party libraries speak only when something is wrong; soilsat reports progress.
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    log = logging.getLogger("soilsat")
    log.setLevel(level)
    try:
        yield log
    except Exception as err:
        log.error("%s: %s", type(err).__name__, err)
        raise
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
