"""STAND-IN for ESA's esa_snappy module (see ../standin.py), for soilsat's tests only: not SNAP.

Like the real module it reads esa_snappy.ini from its own folder, the folder above and the
working directory (the last one read wins) and starts its "JVM" with java_max_mem and the
'|'-separated java_options, whose -D system properties reach the graph. It offers the four
Java types soilsat uses through jpy: java.io.FileReader, GraphIO, GraphProcessor and
ProgressMonitor; a failing graph raises RuntimeError with the Java exception's message, as jpy
surfaces it. SNAP_STANDIN_RECORD=<file> makes it write its JVM settings as JSON.
"""

import configparser
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from standin import GraphError, run  # noqa: E402

_module_dir = Path(__file__).resolve().parent
config = configparser.ConfigParser()
config.read([_module_dir / "esa_snappy.ini", _module_dir.parent / "esa_snappy.ini", "esa_snappy.ini"])
java_max_mem = config.get("DEFAULT", "java_max_mem", fallback="512M")
java_options = [o for o in config.get("DEFAULT", "java_options", fallback="").split("|") if o]
system_properties = dict(o[2:].partition("=")[::2] for o in java_options if o.startswith("-D"))
if os.environ.get("SNAP_STANDIN_RECORD"):
    Path(os.environ["SNAP_STANDIN_RECORD"]).write_text(
        json.dumps({"java_max_mem": java_max_mem, "java_options": java_options, "properties": system_properties})
    )


class _FileReader:
    def __init__(self, path):
        self.path = str(path)


class _GraphIO:
    @staticmethod
    def read(reader):
        return reader.path


class _GraphProcessor:
    def executeGraph(self, graph, monitor):  # noqa: N802 (Java's name)
        try:
            run(graph, system_properties, lambda text: print(text, file=sys.stderr))
        except GraphError as exc:
            raise RuntimeError(f"org.esa.snap.core.gpf.graph.GraphException: {exc}") from None


class _ProgressMonitor:
    NULL = object()


class jpy:  # noqa: N801 (the module's name)
    """The part of jpy soilsat uses."""

    _types = {
        "java.io.FileReader": _FileReader,
        "org.esa.snap.core.gpf.graph.GraphIO": _GraphIO,
        "org.esa.snap.core.gpf.graph.GraphProcessor": _GraphProcessor,
        "com.bc.ceres.core.ProgressMonitor": _ProgressMonitor,
    }

    @classmethod
    def get_type(cls, name):
        return cls._types[name]
