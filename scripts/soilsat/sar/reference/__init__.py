"""Reference paths: whole-grid and simpler versions of the Sentinel-1 chain, in memory.

Tests and benchmarks measure the streamed builtin engine against these; no workflow job imports them.
"""
