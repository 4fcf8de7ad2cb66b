"""Running ESA's Sen2Cor (`L2A_Process`) on one L1C product and taking over the L2A SAFE it writes.

The command is `L2A_Process --resolution 10 --output_dir OUT --GIP_L2A GIPP L1C.SAFE`, run
natively or inside a container image pinned by digest. Sen2Cor takes its thread count
from the GIPP (`Nr_Threads`), so each job runs on a copy of the configured GIPP with the
job's threads written in. Sen2Cor's own output (stdout and stderr) goes to a log file;
a non-zero exit, no L2A SAFE, or an incomplete one fails with its last log lines, and
nothing is left at the output path.

This module imports only the standard library at top level: the Snakefile calls
`preflight` while it is parsed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from soilsat.errors import ConfigError, ProductError

log = logging.getLogger(__name__)

INSTALL_HINT = ("install Sen2Cor 2.11 (https://step.esa.int/main/snap-supported-plugins/sen2cor/: run "
                "Sen2Cor-02.11.00-Linux64.run and put its bin/ folder on PATH), or set sentinel2.sen2cor.container "
                "to a Sen2Cor image pinned by digest, or set sentinel2.level: L2A to use the archive's L2A products")
# Sen2Cor names its output S2x_MSIL2A_<datatake start>_N<baseline>_R<orbit>_T<tile>_<generation>.SAFE.
L2A_NAME = re.compile(r"^(S2[ABCD])_MSIL2A_(\d{8}T\d{6})_N(\d{4})_R(\d{3})_T(\d{2}[A-Z]{3})_(\d{8}T\d{6})\.SAFE$")
L1C_NAME = re.compile(r"^(S2[ABCD])_MSIL1C_(\d{8}T\d{6})_N(\d{4})_R(\d{3})_T(\d{2}[A-Z]{3})_(\d{8}T\d{6})(\.SAFE)?$")
_PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")
_NR_THREADS = re.compile(r"(<Nr_Threads>)([^<]*)(</Nr_Threads>)")
TAIL_LINES = 15


@dataclasses.dataclass(frozen=True)
class Sen2CorSettings:
    """The `sentinel2.sen2cor:` config keys."""

    executable: str = "L2A_Process"
    gipp: str | None = None
    container: str | None = None
    container_runtime: str = "apptainer"
    resolution: int = 10


def settings_from_config(section: Mapping) -> Sen2CorSettings:
    """Sen2CorSettings from a validated `sentinel2.sen2cor:` section."""
    return Sen2CorSettings(executable=str(section["executable"]), gipp=section.get("gipp"),
                           container=section.get("container"),
                           container_runtime=str(section.get("container_runtime", "apptainer")),
                           resolution=int(section.get("resolution", 10)))


def check_container(image: str) -> None:
    """Raise ConfigError unless a container image is pinned by digest (name@sha256:<64 hex>)."""
    if not _PINNED.search(image):
        raise ConfigError(f"config key sentinel2.sen2cor.container: {image!r} is not pinned; "
                          "give the image by digest, e.g. docker://repo/sen2cor@sha256:<64 hex digits>")


def resolve_executable(settings: Sen2CorSettings) -> str:
    """The program to start (Sen2Cor, or the container runtime); ConfigError with install advice when missing."""
    if settings.container:
        check_container(settings.container)
        found = shutil.which(settings.container_runtime)
        if found is None:
            raise ConfigError(f"config key sentinel2.sen2cor.container_runtime: {settings.container_runtime!r} "
                              f"is not on PATH, so the Sen2Cor image cannot run; {INSTALL_HINT}")
        return found
    found = shutil.which(settings.executable)
    if found is None:
        raise ConfigError(f"config key sentinel2.sen2cor.executable: Sen2Cor ({settings.executable!r}) "
                          f"is not an executable on PATH; {INSTALL_HINT}")
    return found


def resolve_gipp(settings: Sen2CorSettings) -> Path:
    """The GIPP file: the configured one, else $SEN2COR_HOME/cfg/L2A_GIPP.xml or ~/sen2cor/<version>/cfg/L2A_GIPP.xml."""
    if settings.gipp:
        path = Path(settings.gipp).expanduser()
        if not path.is_file():
            raise ConfigError(f"config key sentinel2.sen2cor.gipp: {path} is not a file")
        return path
    if settings.container:
        raise ConfigError("config key sentinel2.sen2cor.gipp: set it to an L2A_GIPP.xml when Sen2Cor runs in a container")
    candidates = []
    if os.environ.get("SEN2COR_HOME"):
        candidates.append(Path(os.environ["SEN2COR_HOME"]) / "cfg" / "L2A_GIPP.xml")
    candidates += sorted(Path.home().glob("sen2cor/*/cfg/L2A_GIPP.xml"), reverse=True)
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError("config key sentinel2.sen2cor.gipp: not set and no L2A_GIPP.xml under $SEN2COR_HOME/cfg "
                      "or ~/sen2cor/<version>/cfg (Sen2Cor writes it on its first run); set the key to a GIPP file")


def preflight(section: Mapping) -> None:
    """Fail at once, before any job, when Sen2Cor, its container runtime or its GIPP is missing."""
    settings = settings_from_config(section)
    resolve_executable(settings)
    resolve_gipp(settings)


def job_gipp(source: Path, dest: Path, threads: int) -> Path:
    """Copy a GIPP with `Nr_Threads` set to the job's threads; ProductError when it is not a Sen2Cor GIPP."""
    from defusedxml import ElementTree as SafeET

    text = source.read_text(encoding="utf-8")
    try:
        SafeET.fromstring(text.encode("utf-8"), forbid_dtd=True)
    except Exception as e:  # defusedxml and expat errors share no base class
        raise ProductError(source, f"invalid GIPP XML ({type(e).__name__})") from None
    # A text substitution keeps the file byte for byte as Sen2Cor's schema check expects it.
    new, n = _NR_THREADS.subn(lambda m: f"{m.group(1)}{int(threads)}{m.group(3)}", text, count=1)
    if n == 0:
        raise ProductError(source, "no <Nr_Threads> element: not a Sen2Cor L2A_GIPP.xml")
    dest.write_text(new, encoding="utf-8")
    return dest


def command(settings: Sen2CorSettings, program: str, l1c_safe: Path, out_dir: Path, gipp: Path,
            threads: int = 1, mem_mb: int | None = None) -> list[str]:
    """The argument list that runs Sen2Cor on one L1C SAFE folder (in the pinned container when configured)."""
    args = [settings.executable, "--resolution", str(settings.resolution), "--output_dir", str(out_dir),
            "--GIP_L2A", str(gipp), str(l1c_safe)]
    if not settings.container:
        return [program] + args[1:]
    mounts = sorted({str(p.resolve()) for p in (l1c_safe.parent, out_dir, gipp.parent)})
    runtime = Path(settings.container_runtime).name
    if runtime in ("apptainer", "singularity"):
        binds = [a for m in mounts for a in ("--bind", f"{m}:{m}")]
        limits = ["--cpus", str(threads)] + (["--memory", f"{int(mem_mb)}M"] if mem_mb else [])
        return [program, "exec", "--cleanenv", *limits, *binds, settings.container, *args]
    if runtime in ("docker", "podman"):
        vols = [a for m in mounts for a in ("--volume", f"{m}:{m}")]
        limits = ["--cpus", str(threads)] + (["--memory", f"{int(mem_mb)}m"] if mem_mb else [])
        user = ["--user", f"{os.getuid()}:{os.getgid()}"]
        return [program, "run", "--rm", *user, *limits, *vols, "--entrypoint", settings.executable,
                settings.container, *args[1:]]
    raise ConfigError(f"config key sentinel2.sen2cor.container_runtime: unknown runtime {runtime!r}; "
                      "use apptainer, singularity, docker or podman")


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last non-empty lines of a log file, joined into one line with ' | '."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no Sen2Cor log)"
    kept = [" ".join(line.split()) for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept) if kept else "(Sen2Cor wrote nothing)"


def unpack_l1c(product: Path, scratch: Path) -> Path:
    """The L1C SAFE folder of a product (a SAFE folder as is, a zip extracted into `scratch`)."""
    from soilsat.optical.safe import read_metadata

    meta = read_metadata(product)
    if meta.level != "L1C":
        raise ProductError(meta.mtd, f"is a {meta.level} product; Sen2Cor needs an L1C product")
    if product.is_dir():
        return product
    with zipfile.ZipFile(product) as z:
        safe = sorted({n.split("/")[0] for n in z.namelist() if n.split("/")[0].endswith(".SAFE")})
        if len(safe) != 1:
            raise ProductError(product, f"expected one .SAFE folder in the zip, found {len(safe)}")
        target = scratch / "L1C"
        try:
            z.extractall(target)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ProductError(product, f"unreadable or truncated zip ({e})") from None
    return target / safe[0]


def find_l2a(out_dir: Path, log_path: Path) -> Path:
    """The one L2A SAFE Sen2Cor wrote into `out_dir`, by the name it gave it."""
    written = sorted(p for p in out_dir.iterdir() if p.is_dir() and "_MSIL2A_" in p.name)
    if len(written) != 1:
        found = ", ".join(p.name for p in written) or "none"
        raise ProductError(out_dir, f"Sen2Cor should write one L2A SAFE, found {found}; "
                                    f"last Sen2Cor log lines ({log_path}): {tail(log_path)}")
    if not L2A_NAME.match(written[0].name):
        raise ProductError(written[0], "is not named like a Sen2Cor L2A product "
                                       "(S2x_MSIL2A_<time>_N<baseline>_R<orbit>_T<tile>_<time>.SAFE)")
    return written[0]


def check_l2a(safe: Path, l1c_name: str, required: Iterable[str], log_path: Path) -> None:
    """ProductError naming the file unless the L2A SAFE is complete and belongs to the L1C product."""
    from soilsat.optical.safe import read_metadata

    hint = f"; last Sen2Cor log lines ({log_path}): {tail(log_path)}"
    try:
        meta = read_metadata(safe)
    except ProductError as e:
        raise ProductError(e.path, e.problem + hint) from None
    if meta.level != "L2A":
        raise ProductError(meta.mtd, f"Sen2Cor output is {meta.level}, not L2A{hint}")
    l1c = L1C_NAME.match(l1c_name.removesuffix(".zip"))
    l2a = L2A_NAME.match(safe.name)
    if l1c and l2a and (l1c.group(2), l1c.group(5)) != (l2a.group(2), l2a.group(5)):
        raise ProductError(safe, f"Sen2Cor output is for datatake {l2a.group(2)} tile {l2a.group(5)}, "
                                 f"not {l1c.group(2)} tile {l1c.group(5)} of {l1c_name}")
    listed = {b for b, _ in meta.band_files}
    missing = sorted(set(required) - listed)
    if missing:
        raise ProductError(meta.mtd, f"bands {missing} are not listed in Sen2Cor's product metadata{hint}")
    for path in list(meta.band_files.values()) + list(meta.mask_files.values()):
        if path.endswith(("_60m.jp2",)) and "QI_DATA" in path:
            continue  # 60 m probability masks are optional; the 20 m ones are used
        p = Path(path)
        if not p.is_file() or p.stat().st_size == 0:
            raise ProductError(p, f"missing or empty in Sen2Cor's L2A output (partial product){hint}")


def run_sen2cor(
    product: str | os.PathLike,
    output: str | os.PathLike,
    settings: Sen2CorSettings,
    sen2cor_log: str | os.PathLike,
    threads: int = 1,
    mem_mb: int | None = None,
    required_bands: Iterable[str] = ("B02", "B03", "B04", "B08", "B8A", "B11", "B12", "SCL"),
) -> Path:
    """Run Sen2Cor on an L1C product (zip or SAFE); place its L2A SAFE in `output` and return its path."""
    program = resolve_executable(settings)
    gipp_source = resolve_gipp(settings)
    product, output, log_path = Path(product), Path(output), Path(sen2cor_log)
    output.parent.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Absolute paths: Sen2Cor runs in the scratch folder.
    scratch = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent)).resolve()
    try:
        l1c = unpack_l1c(product.resolve(), scratch)
        gipp = job_gipp(gipp_source, scratch / "L2A_GIPP.xml", threads)
        out_dir = scratch / "out"
        out_dir.mkdir()
        cmd = command(settings, program, l1c, out_dir, gipp, threads, mem_mb)
        log.info("running %s", " ".join(cmd))
        with open(log_path, "w", encoding="utf-8") as sink:
            rc = subprocess.run(cmd, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=scratch).returncode
        if rc != 0:
            raise ProductError(product, f"Sen2Cor exited with status {rc}; last Sen2Cor log lines ({log_path}): "
                                        f"{tail(log_path)}")
        safe = find_l2a(out_dir, log_path)
        check_l2a(safe, product.name, required_bands, log_path)
        staged = scratch / "staged"
        staged.mkdir()
        safe.rename(staged / safe.name)
        if output.exists():
            shutil.rmtree(output)
        os.replace(staged, output)
        return output / safe.name
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
