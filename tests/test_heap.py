"""soilsat.heap: large arrays reuse freed memory inside reused_heap and are mapped afresh outside it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from soilsat.heap import glibc, reused_heap

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

# Page faults of a 256 MB array allocated, filled and freed twice in a fresh process, outside and then inside
# reused_heap: the second array outside is a fresh mapping the kernel zero-fills again; inside it is the
# first one's memory, already there.
FAULTS = textwrap.dedent(
    """
    import json, resource
    import numpy as np
    from soilsat.heap import reused_heap

    def faults_of_second_array():
        for attempt in range(2):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            a = np.empty(2**25)
            a.fill(1.0)
            del a
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    outside = faults_of_second_array()
    with reused_heap() as active:
        inside = faults_of_second_array()
    after = faults_of_second_array()
    print(json.dumps({"active": active, "outside": outside, "inside": inside, "after": after}))
    """
)


@pytest.mark.skipif(glibc() is None, reason="heap settings exist only in glibc")
def test_freed_arrays_are_reused_inside_and_mapped_afresh_outside():
    run = subprocess.run(
        [sys.executable, "-c", FAULTS], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SCRIPTS)}
    )
    faults = json.loads(run.stdout)
    assert faults["active"] is True
    # 256 MB: 128 huge pages or 65,536 small ones when mapped afresh
    assert faults["outside"] >= 128
    assert faults["inside"] < 16
    assert faults["after"] >= 128  # glibc's defaults are back


def test_yields_whether_active_and_leaves_values_alone():
    import numpy as np

    with reused_heap() as active:
        values = np.arange(2**23, dtype=np.float64)
        assert values[-1] == 2**23 - 1
    assert active is (glibc() is not None)
