"""Run one SNAP graph file through esa_snappy: `python -m soilsat.sar.snappy_run GRAPH.xml`.

A child process of the Sentinel-1 job (see :func:`soilsat.sar.snap.run_snappy`): importing
esa_snappy starts a JVM configured from the esa_snappy.ini of the working directory, so each
job starts its own, with its own heap, threads and system properties. Exit status 1 and the
Java exception's message on stderr when the graph fails.
"""

from __future__ import annotations

import sys


def run(graph_path: str) -> None:
    """Read a graph file with SNAP's GraphIO and execute it with its GraphProcessor."""
    import esa_snappy

    jpy = esa_snappy.jpy
    reader = jpy.get_type("java.io.FileReader")(graph_path)
    graph = jpy.get_type("org.esa.snap.core.gpf.graph.GraphIO").read(reader)
    monitor = jpy.get_type("com.bc.ceres.core.ProgressMonitor").NULL
    jpy.get_type("org.esa.snap.core.gpf.graph.GraphProcessor")().executeGraph(graph, monitor)


def main(argv: list[str]) -> int:
    """Entry point: the graph file is the one argument."""
    if len(argv) != 1:
        print("usage: python -m soilsat.sar.snappy_run GRAPH.xml", file=sys.stderr)
        return 2
    try:
        run(argv[0])
    except Exception as exc:  # a Java exception surfaces as RuntimeError; report whatever it is
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
