"""The workflow on a real one-node SLURM cluster started on this machine, with profiles/slurm.

The cluster (munge, slurmctld, slurmd from Debian's slurm-wlm) lives entirely in a temporary
folder with its own munge socket, key and free ports, so it neither needs nor touches a
system-wide SLURM. The test skips, saying why, where SLURM cannot be installed or started.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from conftest import ROOT

pytestmark = pytest.mark.e2e

TINY = ROOT / "tests" / "configs" / "tiny.yaml"
TEMPLATE = ROOT / "tests" / "slurm" / "slurm.conf.in"
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")
NODE = "soilsat-node"
# Start-up waits: the daemons answer within seconds; these bound a broken install.
START_TIMEOUT_S = 60
# Snakemake-side overrides for the test only: poll often, keep the logs we check, and let
# group jobs (see stage_groups) fill but not exceed the node (2 CPUs, 16 of its 20 GB).
TEST_OPTIONS = (
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--slurm-keep-successful-logs",
    "--cores",
    "2",
    "--resources",
    "mem_mb=16000",
    "downloads=4",
)


@dataclass
class Cluster:
    """A running one-node SLURM cluster: its state folder, environment and daemon processes."""

    state: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of every daemon log, for failure and skip messages."""
        parts = []
        for log in sorted(self.state.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self) -> None:
        """Terminate the daemons this test started, the last started first."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_slurm_installed() -> None:
    """Install slurm-wlm and munge with apt when missing, or skip saying why that is impossible."""
    if all(shutil.which(name) for name in DAEMONS):
        return
    if os.geteuid() != 0:
        pytest.skip("SLURM is not installed and installing it (apt-get install slurm-wlm munge) needs root")
    if not shutil.which("apt-get"):
        pytest.skip("SLURM is not installed and this machine has no apt-get to install slurm-wlm and munge")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "slurm-wlm", "munge"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            pytest.skip(f"cannot install SLURM: {' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    missing = [name for name in DAEMONS if not shutil.which(name)]
    if missing:
        pytest.skip(f"slurm-wlm and munge installed but {missing} not on PATH")


def write_slurm_conf(state: Path, munge_socket: Path) -> Path:
    """slurm.conf for a one-node cluster whose node has 2 CPUs and about 20 GB of memory."""
    text = TEMPLATE.read_text().format(
        state=state,
        host=socket.gethostname(),
        node=NODE,
        ctld_port=free_port(),
        slurmd_port=free_port(),
        munge_socket=munge_socket,
        cpus=2,
        memory_mb=20000,
    )
    path = state / "slurm.conf"
    path.write_text(text)
    return path


def start_munge(state: Path) -> tuple[subprocess.Popen, Path]:
    """A private munged (own key and socket) in the foreground; returns it and its socket."""
    folder = state / "munge"
    folder.mkdir(mode=0o700)
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    sock = folder / "munge.socket"
    cmd = [
        "munged",
        "--foreground",
        "--force",
        f"--socket={sock}",
        f"--key-file={key}",
        f"--pid-file={folder / 'munged.pid'}",
        f"--seed-file={folder / 'munged.seed'}",
        f"--log-file={state / 'munged.log'}",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_for(lambda: sock.exists(), f"munged did not create {sock}", proc)
    return proc, sock


def wait_for(ready, message: str, proc: subprocess.Popen | None = None) -> None:
    """Poll `ready()` until it is true; skip with `message` on timeout or when `proc` dies."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{message} (exit status {proc.returncode})")
        time.sleep(0.5)
    raise RuntimeError(f"{message} within {START_TIMEOUT_S} s")


def srun_shim(state: Path, conf: Path) -> Path:
    """A folder with an `srun` that restores SLURM_CONF, for the job steps Snakemake starts.

    snakemake-executor-plugin-slurm-jobstep 0.6.1 drops every SLURM_* variable, SLURM_CONF
    included, before it calls srun inside a job. A real cluster keeps its slurm.conf in
    /etc/slurm, where srun finds it anyway; this private cluster must not write there.
    """
    folder = state / "bin"
    folder.mkdir()
    shim = folder / "srun"
    shim.write_text(f'#!/bin/sh\nSLURM_CONF={conf} exec {shutil.which("srun")} "$@"\n')
    shim.chmod(0o755)
    return folder


def node_state(env: dict[str, str]) -> str:
    """The state of the test node as sinfo reports it, or '' while the controller is not up."""
    proc = subprocess.run(["sinfo", "-h", "-n", NODE, "-o", "%T"], capture_output=True, text=True, env=env)
    return proc.stdout.strip() if proc.returncode == 0 else ""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory) -> Cluster:
    """munged, slurmctld and slurmd as a one-node cluster; stopped after the module."""
    ensure_slurm_installed()
    state = tmp_path_factory.mktemp("slurm")
    for sub in ("ctld", "slurmd"):
        (state / sub).mkdir()
    cluster = Cluster(state=state, env={})
    try:
        munge, sock = start_munge(state)
        cluster.processes.append(munge)
        conf = write_slurm_conf(state, sock)
        # Jobs inherit this environment (sbatch exports it): the project's python comes first on PATH.
        path = os.pathsep.join([str(srun_shim(state, conf)), str(Path(sys.executable).parent), os.environ["PATH"]])
        cluster.env = dict(os.environ, SLURM_CONF=str(conf), PYTHONPATH=str(ROOT / "scripts"), PATH=path)
        for cmd in (["slurmctld", "-D", "-i", "-f", str(conf)], ["slurmd", "-D", "-N", NODE, "-f", str(conf)]):
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=cluster.env)
            cluster.processes.append(proc)
            time.sleep(1)
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with status {proc.returncode}")
        wait_for(lambda: node_state(cluster.env) in ("idle", "mixed", "allocated"), f"node {NODE} did not become idle")
    except (RuntimeError, OSError) as exc:
        tail = cluster.log_tail()
        cluster.stop()
        pytest.skip(f"cannot start a one-node SLURM cluster: {exc}\n{tail}")
    yield cluster
    cluster.stop()


def submitted_jobs(output: str) -> dict[str, str]:
    """Snakemake job or group id -> SLURM job id (of the last attempt), from the executor's messages."""
    return dict(re.findall(r"Job (\S+) has been submitted with SLURM jobid (\d+)", output))


def job_blocks(output: str) -> list[tuple[str, bool, str]]:
    """(rule, ran locally, output files) of every job header Snakemake printed, group members included."""
    header = r"(?:local)?(?:rule|checkpoint) "
    pattern = rf"^[ \t]*(local)?(?:rule|checkpoint) (\w+):\n(?:[ \t]+(?!output:|{header}).*\n)*?[ \t]+output: (.*)$"
    return [(rule, bool(local), files) for local, rule, files in re.findall(pattern, output, flags=re.M)]


def completed_slurm_jobs(cluster: Cluster) -> set[str]:
    """SLURM job ids the controller logged as finished with exit status 0."""
    log = (cluster.state / "slurmctld.log").read_text()
    return set(re.findall(r"_job_complete: JobId=(\d+) WEXITSTATUS 0$", log, flags=re.M))


def stage_groups() -> list[str]:
    """`--groups` arguments: every rule of a rules/*.smk file in one group named after the file.

    Only for the test: the tiny world's jobs take a second or two each, and one SLURM job per
    stage (with --group-components) spares a SLURM job's start-up per job. Both Sentinel
    stages share one group, so they run as one SLURM job.
    """
    groups = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        blocks = re.split(r"^(?:rule|checkpoint) (\w+):", smk.read_text(), flags=re.M)[1:]
        for name, body in zip(blocks[::2], blocks[1::2]):
            # Rules without an action (collectors like `all`) run locally and stay out of groups.
            if re.search(r"^    (script|shell|run|notebook|wrapper):", body, flags=re.M):
                group = "scenes" if smk.stem in ("sentinel1", "sentinel2") else smk.stem
                groups.append(f"{name}={group}")
    return groups


def acquire_rules() -> set[str]:
    """Names of the rules in rules/acquire.smk."""
    return set(re.findall(r"^(?:rule|checkpoint) (\w+):", (ROOT / "rules" / "acquire.smk").read_text(), flags=re.M))


def reuse_acquired(local_run: Path, workdir: Path) -> None:
    """Copy the acquire stage's outputs (raw data, catalogs) and Snakemake's records of them.

    Downloads run on a login node at many sites (README); here the copy keeps the test short,
    as the tiny world's ~30 acquire jobs would cost minutes of SLURM start-ups for outputs
    that are inputs, not results, of the comparison with the local run.
    """
    for part in ("resources", "results/tiny/catalog", ".snakemake/metadata"):
        shutil.copytree(local_run / part, workdir / part)


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tiny_run, tmp_path_factory) -> tuple[Path, str]:
    """The tiny demo world run through profiles/slurm from the local run's raw data; returns workdir and log."""
    workdir = tmp_path_factory.mktemp("tiny_slurm")
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")
    reuse_acquired(tiny_run, workdir)
    cmd = [
        str(Path(sys.executable).parent / "snakemake"),
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(TINY),
        "--profile",
        str(ROOT / "profiles" / "slurm"),
        *TEST_OPTIONS,
        "--groups",
        *stage_groups(),
        "--group-components",
        *sorted({f"{g.split('=')[1]}=100" for g in stage_groups()}),
    ]
    # A guard against a hung cluster, not a time limit: the run takes 5-15 min, depending on the machine's load.
    proc = subprocess.run(cmd, capture_output=True, text=True, env=slurm_cluster.env, timeout=2400)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise AssertionError(
            f"snakemake on SLURM failed ({proc.returncode}):\n{output[-6000:]}\n{slurm_cluster.log_tail()}"
        )
    return workdir, output


def test_every_non_local_job_ran_as_a_slurm_job(slurm_cluster, slurm_run):
    workdir, output = slurm_run
    jobs = job_blocks(output)
    remote = {(rule, files) for rule, local, files in jobs if not local}
    assert len(remote) > 20, f"expected the tiny DAG after acquisition, saw {len(remote)} jobs"
    assert {rule for rule, local, _ in jobs if local} <= {"all", "sentinel2_all"}
    assert not {rule for rule, _ in remote} & acquire_rules(), "raw data were copied, not acquired again"
    assert {"sentinel1_sigma0", "sentinel2_l2a", "extract_probes", "train_random_forest"} <= {r for r, _ in remote}
    # Each submission is a distinct SLURM job that the controller saw finish with status 0 ...
    slurm_ids = set(submitted_jobs(output).values())
    assert len(slurm_ids) == len(submitted_jobs(output)) >= 3
    assert slurm_ids <= completed_slurm_jobs(slurm_cluster)
    # ... and the jobs Snakemake ran inside them, read from their logs, are exactly the non-local jobs.
    logs = {p.stem: p for p in (workdir / ".snakemake" / "slurm_logs").rglob("*.log")}
    assert slurm_ids <= set(logs), "SLURM jobs without a log under .snakemake/slurm_logs"
    inside = {(rule, files) for sid in slurm_ids for rule, _, files in job_blocks(logs[sid].read_text())}
    assert inside == remote


def test_slurm_results_equal_a_local_run(slurm_run, tiny_run):
    workdir, _ = slurm_run
    remote, local = workdir / "results" / "tiny", tiny_run / "results" / "tiny"
    # Same seed and the same 2 threads in both runs: the random forest gives identical numbers.
    pd.testing.assert_frame_equal(pd.read_csv(remote / "metrics.csv"), pd.read_csv(local / "metrics.csv"))
    pd.testing.assert_frame_equal(
        pd.read_parquet(remote / "datasets" / "probes.parquet"), pd.read_parquet(local / "datasets" / "probes.parquet")
    )
    rasters = sorted((local / "static").glob("*.tif")) + sorted((local / "sentinel1").rglob("*.tif"))[:1]
    assert len(rasters) >= 3
    for path in rasters:
        with rasterio.open(path) as a, rasterio.open(remote / path.relative_to(local)) as b:
            assert (a.crs, a.transform, a.shape) == (b.crs, b.transform, b.shape)
            np.testing.assert_array_equal(a.read(), b.read())
