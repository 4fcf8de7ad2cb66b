"""Running ESA's Sen2Cor (`L2A_Process`) on one L1C product and taking over the L2A SAFE it writes.

The command is `L2A_Process --resolution 10 --output_dir OUT --GIP_L2A GIPP L1C.SAFE`, run
natively or inside a container image pinned by digest. What Sen2Cor does that soilsat must
meet (read from Sen2Cor's sources, L2A_Process.py, L2A_Config.py, L2A_XmlParser.py, and its
GIPP schema):

- Version: `L2A_Process --help` names it ("... Version: 2.11.0, created: ..."). Versions before
  2.10 are refused, and S2C/S2D products before 2.12. Sen2Cor keeps its home, and its default
  GIPP, per minor version (~/sen2cor/2.11/cfg), so the GIPP taken by default is that version's.
- GIPP: Sen2Cor validates it against `L2A_GIPP.xsd` (in its `cfg` folder) but goes on when it
  does not validate, so each job's copy is validated here first. `Nr_Threads` is AUTO or 1 to 8;
  the job's threads are written in, at most 8.
- Resolution: `--resolution 10` makes 20 m first and then 10 m, `20` makes 20 m only; 60 m
  bands appear only with the GIPP's Downsample_20_to_60, and B08 exists only at 10 m.
- Home: Sen2Cor writes its log folder and report into $SEN2COR_HOME (else ~/sen2cor/<version>);
  each job gets its own writable home in its scratch folder (in a container too, where HOME
  may be /). The full report, `$SEN2COR_HOME/log/<L2A id>_<time>_report.xml`, is copied beside
  the rule's log and its errors are quoted when the job fails.
- Failures: Sen2Cor may exit 0 after an error or hang. The job fails on a non-zero exit, on
  "Application terminated with at least one error", on a missing or incomplete L2A SAFE, and
  when Sen2Cor outlives the timeout (from the rule's runtime); nothing is left at the output.
- Input: Sen2Cor copies AUX_DATA, HTML and rep_info from the L1C SAFE; zips drop these folders
  when they are empty, so they are created after unpacking.

Sen2Cor's stdout and stderr go to the rule's Sen2Cor log. This module imports only the standard
library at top level: the Snakefile calls `preflight` while it is parsed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from soilsat.errors import ConfigError, ProductError
from soilsat.settings import Settings

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install Sen2Cor 2.11 (https://step.esa.int/main/snap-supported-plugins/sen2cor/: run "
    "Sen2Cor-02.11.00-Linux64.run and put its bin/ folder on PATH), or set sentinel2.sen2cor.container "
    "to a Sen2Cor image pinned by digest, or set sentinel2.level: L2A to use the archive's L2A products"
)
# Sen2Cor names its output S2x_MSIL2A_<datatake start>_N<baseline>_R<orbit>_T<tile>_<generation>.SAFE.
L2A_NAME = re.compile(r"^(S2[ABCD])_MSIL2A_(\d{8}T\d{6})_N(\d{4})_R(\d{3})_T(\d{2}[A-Z]{3})_(\d{8}T\d{6})\.SAFE$")
L1C_NAME = re.compile(r"^(S2[ABCD])_MSIL1C_(\d{8}T\d{6})_N(\d{4})_R(\d{3})_T(\d{2}[A-Z]{3})_(\d{8}T\d{6})(\.SAFE)?$")
_PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")
_NR_THREADS = re.compile(r"(<Nr_Threads>)([^<]*)(</Nr_Threads>)")
_VERSION = re.compile(r"Version:\s*(\d+)\.(\d+)\.(\d+)")
_REPORT_ENTRY = re.compile(
    r'<inspection [^>]*level="(ERROR|FATAL|CRITICAL)"[^>]*/>\s*'
    r'<message contentType="Text">(.*?)</message>',
    re.DOTALL,
)
TAIL_LINES = 15
MAX_THREADS = 8  # L2A_GIPP.xsd: Nr_Threads is AUTO or an unsignedByte from 1 to 8
MIN_VERSION = (2, 10)  # older versions write no BOA_ADD_OFFSET and miss baseline 04.00 inputs
NEW_SPACECRAFT_VERSION = (2, 12)  # the first that processes S2C and S2D products
TIMEOUT_MARGIN_S = 120  # of the rule's runtime, left for stopping Sen2Cor and cleaning up
STOP_GRACE_S = 10
FAILED_RUN = "terminated with at least one error"
# folders Sen2Cor copies from the L1C SAFE (and from each granule) into the L2A product
INPUT_FOLDERS = ("AUX_DATA", "HTML", "rep_info")
# Bands Sen2Cor writes at each --resolution (a 20 m run makes no 10 m band; 60 m only with Downsample_20_to_60).
RESOLUTION_BANDS = {
    10: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12", "SCL"),
    20: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12", "SCL"),
}


@dataclasses.dataclass(frozen=True)
class Sen2CorSettings(Settings):
    """How Sen2Cor is run (config sentinel2.sen2cor)."""

    executable: str
    gipp: str | None
    gipp_schema: str | None
    container: str | None
    container_runtime: str
    container_limits: bool
    resolution: int


def check_container(image: str) -> None:
    """Raise ConfigError unless a container image is pinned by digest (name@sha256:<64 hex>)."""
    if not _PINNED.search(image):
        raise ConfigError(
            f"config key sentinel2.sen2cor.container: {image!r} is not pinned; "
            "give the image by digest, e.g. docker://repo/sen2cor@sha256:<64 hex digits>"
        )


def resolve_executable(settings: Sen2CorSettings) -> str:
    """The program to start (Sen2Cor, or the container runtime); ConfigError with install advice when missing."""
    if settings.container:
        check_container(settings.container)
        found = shutil.which(settings.container_runtime)
        if found is None:
            raise ConfigError(
                f"config key sentinel2.sen2cor.container_runtime: {settings.container_runtime!r} "
                f"is not on PATH, so the Sen2Cor image cannot run; {INSTALL_HINT}"
            )
        return found
    found = shutil.which(settings.executable)
    if found is None:
        raise ConfigError(
            f"config key sentinel2.sen2cor.executable: Sen2Cor ({settings.executable!r}) "
            f"is not an executable on PATH; {INSTALL_HINT}"
        )
    return found


def _version_key(folder: Path) -> tuple[int, ...]:
    """A Sen2Cor home folder name ('2.11') as a number tuple for sorting (non-versions last)."""
    try:
        return tuple(int(part) for part in folder.name.split("."))
    except ValueError:
        return (-1,)


def resolve_gipp(settings: Sen2CorSettings, version: tuple[int, int, int] | None = None) -> Path:
    """The GIPP file: the configured one, else $SEN2COR_HOME/cfg/L2A_GIPP.xml, else that of the installed version's
    home ~/sen2cor/<major.minor>/cfg (without a known version: the newest version's, by number)."""
    if settings.gipp:
        path = Path(settings.gipp).expanduser()
        if not path.is_file():
            raise ConfigError(f"config key sentinel2.sen2cor.gipp: {path} is not a file")
        return path
    if settings.container:
        raise ConfigError(
            "config key sentinel2.sen2cor.gipp: set it to an L2A_GIPP.xml when Sen2Cor runs in a container"
        )
    candidates = []
    if os.environ.get("SEN2COR_HOME"):
        candidates.append(Path(os.environ["SEN2COR_HOME"]) / "cfg" / "L2A_GIPP.xml")
    homes = Path.home() / "sen2cor"
    if version is not None:
        candidates.append(homes / f"{version[0]}.{version[1]}" / "cfg" / "L2A_GIPP.xml")
    else:
        candidates += [h / "cfg" / "L2A_GIPP.xml" for h in sorted(homes.glob("*"), key=_version_key, reverse=True)]
    for path in candidates:
        if path.is_file():
            return path
    home = f"~/sen2cor/{version[0]}.{version[1]}/cfg" if version else "~/sen2cor/<version>/cfg"
    raise ConfigError(
        f"config key sentinel2.sen2cor.gipp: not set and no L2A_GIPP.xml under $SEN2COR_HOME/cfg or "
        f"{home} (Sen2Cor writes it on its first run); set the key to a GIPP file"
    )


def resolve_schema(settings: Sen2CorSettings, program: str) -> Path:
    """The installed L2A_GIPP.xsd: the configured one, else $SEN2COR_BIN/cfg, else the cfg folder of the installation
    the executable belongs to (<install>/lib/python*/site-packages/sen2cor/cfg)."""
    if settings.gipp_schema:
        path = Path(settings.gipp_schema).expanduser()
        if not path.is_file():
            raise ConfigError(f"config key sentinel2.sen2cor.gipp_schema: {path} is not a file")
        return path
    if settings.container:
        raise ConfigError(
            "config key sentinel2.sen2cor.gipp_schema: set it to the image's L2A_GIPP.xsd when Sen2Cor "
            "runs in a container, copied out once, e.g. `apptainer exec IMAGE sh -c 'cat "
            '$(find / -name L2A_GIPP.xsd -path "*sen2cor/cfg*" 2>/dev/null | head -1)\' > L2A_GIPP.xsd`'
        )
    install = Path(program).resolve().parent.parent
    candidates = [Path(os.environ["SEN2COR_BIN"]) / "cfg" / "L2A_GIPP.xsd"] if os.environ.get("SEN2COR_BIN") else []
    candidates += sorted(install.glob("lib/python*/site-packages/sen2cor/cfg/L2A_GIPP.xsd"))
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(
        "config key sentinel2.sen2cor.gipp_schema: Sen2Cor's L2A_GIPP.xsd not found ($SEN2COR_BIN/cfg "
        f"or {install}/lib/python*/site-packages/sen2cor/cfg); set the key to the L2A_GIPP.xsd of "
        "your Sen2Cor installation"
    )


def preflight(section: Mapping) -> None:
    """Fail at once, before any job, when Sen2Cor, its container runtime, its GIPP or its GIPP schema is missing."""
    settings = Sen2CorSettings.from_config(section)
    program = resolve_executable(settings)
    resolve_gipp(settings)
    resolve_schema(settings, program)


def check_resolution(resolution: int, required: Iterable[str]) -> None:
    """ConfigError naming the bands a --resolution run does not make."""
    missing = sorted(set(required) - set(RESOLUTION_BANDS.get(resolution, ())))
    if missing:
        raise ConfigError(
            f"config key sentinel2.sen2cor.resolution: Sen2Cor run at {resolution} m makes no {missing} "
            f"(B08 exists only at 10 m), which sentinel2.bands and the indices need; use resolution 10"
        )


def version_command(settings: Sen2CorSettings, program: str) -> list[str]:
    """The command printing Sen2Cor's help (with its version), natively or in the pinned container."""
    if not settings.container:
        return [program, "--help"]
    if Path(settings.container_runtime).name in ("docker", "podman"):
        return [program, "run", "--rm", "--entrypoint", settings.executable, settings.container, "--help"]
    return [program, "exec", "--cleanenv", settings.container, settings.executable, "--help"]


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The version Sen2Cor's help names ('... Version: 2.11.0, created: ...')."""
    m = _VERSION.search(text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def installed_version(settings: Sen2CorSettings, program: str) -> tuple[int, int, int]:
    """The installed Sen2Cor's version, from `L2A_Process --help` (ConfigError when it names none)."""
    command = version_command(settings, program)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"config key sentinel2.sen2cor.executable: `{' '.join(command)}` failed ({exc})") from None
    version = parse_version(proc.stdout + proc.stderr)
    if version is None:
        raise ConfigError(
            f"config key sentinel2.sen2cor.executable: `{' '.join(command)}` names no Sen2Cor version "
            f"('Version: x.y.z'): {tail_text(proc.stdout + proc.stderr)}"
        )
    return version


def check_version(version: tuple[int, int, int], product_name: str) -> None:
    """Refuse a Sen2Cor that cannot process the product: before 2.10 any, before 2.12 an S2C or S2D one."""
    shown = ".".join(str(v) for v in version)
    if version[:2] < MIN_VERSION:
        raise ConfigError(
            f"Sen2Cor {shown} is installed; soilsat needs Sen2Cor 2.10 or later (older versions write no "
            f"BOA_ADD_OFFSET and do not read processing baseline 04.00 products); {INSTALL_HINT}"
        )
    if product_name[:3] in ("S2C", "S2D") and version[:2] < NEW_SPACECRAFT_VERSION:
        raise ProductError(
            product_name,
            f"is a {product_name[:3]} product, which Sen2Cor {shown} cannot process; install Sen2Cor 2.12 or later",
        )


def gipp_threads(threads: int) -> int:
    """The job's threads as Nr_Threads accepts them (1 to 8)."""
    capped = min(max(int(threads), 1), MAX_THREADS)
    if capped != threads:
        log.info("Sen2Cor's Nr_Threads takes 1 to %d: %d threads become %d", MAX_THREADS, threads, capped)
    return capped


def validate_gipp(path: Path, schema: Path, source: Path) -> None:
    """ConfigError naming the GIPP, the schema and the first violation unless the GIPP validates against it."""
    from lxml import etree

    try:
        xsd = etree.XMLSchema(etree.parse(str(schema)))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise ConfigError(f"config key sentinel2.sen2cor.gipp_schema: {schema} is not an XML schema ({exc})") from None
    document = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    if not xsd.validate(document):
        error = xsd.error_log.filter_from_errors()[0]
        raise ConfigError(
            f"config key sentinel2.sen2cor.gipp: {source} does not validate against Sen2Cor's {schema} "
            f"(line {error.line}: {error.message}); a GIPP of another Sen2Cor version? Take the "
            "L2A_GIPP.xml of the installed one ($SEN2COR_HOME/cfg after its first run)"
        )


def job_gipp(source: Path, dest: Path, threads: int, schema: Path | None = None) -> Path:
    """Copy a GIPP with `Nr_Threads` set to the job's threads (at most 8), validated against `schema`;
    ProductError when it is not a Sen2Cor GIPP."""
    from defusedxml import ElementTree as SafeET

    text = source.read_text(encoding="utf-8")
    try:
        SafeET.fromstring(text.encode("utf-8"), forbid_dtd=True)
    except Exception as e:  # defusedxml and expat errors share no base class
        raise ProductError(source, f"invalid GIPP XML ({type(e).__name__})") from None
    # A text substitution keeps the file byte for byte as the user wrote it.
    new, n = _NR_THREADS.subn(lambda m: f"{m.group(1)}{gipp_threads(threads)}{m.group(3)}", text, count=1)
    if n == 0:
        raise ProductError(source, "no <Nr_Threads> element: not a Sen2Cor L2A_GIPP.xml")
    dest.write_text(new, encoding="utf-8")
    if schema is not None:
        validate_gipp(dest, schema, source)
    return dest


def command(
    settings: Sen2CorSettings,
    program: str,
    l1c_safe: Path,
    out_dir: Path,
    gipp: Path,
    home: Path,
    threads: int = 1,
    mem_mb: int | None = None,
) -> list[str]:
    """The argument list that runs Sen2Cor on one L1C SAFE folder (in the pinned container when configured), with
    `home` as its home folder inside the container."""
    args = [
        settings.executable,
        "--resolution",
        str(settings.resolution),
        "--output_dir",
        str(out_dir),
        "--GIP_L2A",
        str(gipp),
        str(l1c_safe),
    ]
    if not settings.container:
        return [program] + args[1:]
    mounts = sorted({str(p.resolve()) for p in (l1c_safe.parent, out_dir, gipp.parent, home)})
    runtime = Path(settings.container_runtime).name
    if runtime in ("apptainer", "singularity"):
        binds = [a for m in mounts for a in ("--bind", f"{m}:{m}")]
        limits = []
        if settings.container_limits:  # cgroups limits: refused to ordinary users on cgroups v1 clusters
            limits = ["--cpus", str(threads)] + (["--memory", f"{int(mem_mb)}M"] if mem_mb else [])
        return [
            program,
            "exec",
            "--cleanenv",
            "--home",
            str(home),
            "--env",
            f"SEN2COR_HOME={home}",
            *limits,
            *binds,
            settings.container,
            *args,
        ]
    if runtime in ("docker", "podman"):
        vols = [a for m in mounts for a in ("--volume", f"{m}:{m}")]
        limits = ["--cpus", str(threads)] + (["--memory", f"{int(mem_mb)}m"] if mem_mb else [])
        user = ["--user", f"{os.getuid()}:{os.getgid()}", "--env", f"HOME={home}", "--env", f"SEN2COR_HOME={home}"]
        return [
            program,
            "run",
            "--rm",
            *user,
            *limits,
            *vols,
            "--entrypoint",
            settings.executable,
            settings.container,
            *args[1:],
        ]
    raise ConfigError(
        f"config key sentinel2.sen2cor.container_runtime: unknown runtime {runtime!r}; "
        "use apptainer, singularity, docker or podman"
    )


def tail_text(text: str, lines: int = TAIL_LINES) -> str:
    """The last non-empty lines of a text, joined into one line with ' | '."""
    kept = [" ".join(line.split()) for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept) if kept else "(Sen2Cor wrote nothing)"


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last non-empty lines of a log file, joined into one line with ' | '."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no Sen2Cor log)"
    return tail_text(text, lines)


def report_errors(path: Path | None) -> list[str]:
    """The ERROR, CRITICAL and FATAL messages of a Sen2Cor report file."""
    if path is None:
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    return [" ".join(message.split()) for _, message in _REPORT_ENTRY.findall(text)]


def keep_report(home: Path, destination: Path | None) -> Path | None:
    """Copy Sen2Cor's newest report file from its home to `destination` (the rule's log folder); its path there."""
    reports = sorted((home / "log").glob("*_report.xml"), key=lambda p: p.stat().st_mtime)
    if not reports:
        return None
    if destination is None:
        return reports[-1]
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(reports[-1], destination)
    return destination


def diagnosis(log_path: Path, report: Path | None) -> str:
    """What a failure message quotes: the report's errors (or that there is none) and the last log lines."""
    errors = report_errors(report)
    said = (
        f"Sen2Cor's report ({report}): {' | '.join(errors[-5:])}"
        if errors
        else f"Sen2Cor's report ({report}) lists no error"
        if report
        else "Sen2Cor wrote no report"
    )
    return f"{said}; last Sen2Cor log lines ({log_path}): {tail(log_path)}"


def add_input_folders(safe: Path) -> None:
    """Create the folders Sen2Cor copies from an L1C SAFE (and its granules) where the zip had dropped them empty."""
    for folder in [safe / name for name in INPUT_FOLDERS] + [g / "AUX_DATA" for g in (safe / "GRANULE").glob("*")]:
        if not folder.exists():
            folder.mkdir(parents=True)
            log.info("created the empty %s Sen2Cor copies from the L1C product", folder.relative_to(safe.parent))


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
    add_input_folders(target / safe[0])
    return target / safe[0]


def find_l2a(out_dir: Path, hint: str) -> Path:
    """The one L2A SAFE Sen2Cor wrote into `out_dir`, by the name it gave it."""
    written = sorted(p for p in out_dir.iterdir() if p.is_dir() and "_MSIL2A_" in p.name)
    if len(written) != 1:
        found = ", ".join(p.name for p in written) or "none"
        raise ProductError(out_dir, f"Sen2Cor should write one L2A SAFE, found {found}; {hint}")
    if not L2A_NAME.match(written[0].name):
        raise ProductError(
            written[0],
            "is not named like a Sen2Cor L2A product (S2x_MSIL2A_<time>_N<baseline>_R<orbit>_T<tile>_<time>.SAFE)",
        )
    return written[0]


def check_l2a(safe: Path, l1c_name: str, required: Iterable[str], hint: str) -> None:
    """ProductError naming the file unless the L2A SAFE is complete and belongs to the L1C product."""
    from soilsat.optical.safe import read_metadata

    hint = f"; {hint}"
    try:
        meta = read_metadata(safe)
    except ProductError as e:
        raise ProductError(e.path, e.problem + hint) from None
    if meta.level != "L2A":
        raise ProductError(meta.mtd, f"Sen2Cor output is {meta.level}, not L2A{hint}")
    l1c = L1C_NAME.match(l1c_name.removesuffix(".zip"))
    l2a = L2A_NAME.match(safe.name)
    if l1c and l2a and (l1c.group(2), l1c.group(5)) != (l2a.group(2), l2a.group(5)):
        raise ProductError(
            safe,
            f"Sen2Cor output is for datatake {l2a.group(2)} tile {l2a.group(5)}, "
            f"not {l1c.group(2)} tile {l1c.group(5)} of {l1c_name}",
        )
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


def timeout_from_runtime(runtime_min: float) -> float:
    """Seconds Sen2Cor may run within a job of `runtime_min` minutes (a margin left to stop it and clean up)."""
    return max(60.0, float(runtime_min) * 60.0 - TIMEOUT_MARGIN_S)


def run_stopping(cmd: Sequence[str], sink, cwd: Path, env: Mapping[str, str], timeout_s: float | None) -> int | None:
    """Run a command in its own process group; its exit status, or None when it outlived `timeout_s` and was stopped."""
    proc = subprocess.Popen(
        list(cmd),
        stdout=sink,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=dict(env),
        start_new_session=True,
    )
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        proc.wait()
        return None


def run_sen2cor(
    product: str | os.PathLike,
    output: str | os.PathLike,
    settings: Sen2CorSettings,
    sen2cor_log: str | os.PathLike,
    threads: int = 1,
    mem_mb: int | None = None,
    required_bands: Iterable[str] = ("B02", "B03", "B04", "B08", "B8A", "B11", "B12", "SCL"),
    timeout_s: float | None = None,
    report_log: str | os.PathLike | None = None,
) -> Path:
    """Run Sen2Cor on an L1C product (zip or SAFE); place its L2A SAFE in `output` and return its path.

    `report_log` receives a copy of Sen2Cor's report; `timeout_s` bounds its run."""
    required_bands = tuple(required_bands)
    check_resolution(settings.resolution, required_bands)
    program = resolve_executable(settings)
    version = installed_version(settings, program)
    product, output, log_path = Path(product), Path(output), Path(sen2cor_log)
    check_version(version, product.name)
    gipp_source = resolve_gipp(settings, version)
    schema = resolve_schema(settings, program)
    log.info("Sen2Cor %s, GIPP %s, schema %s", ".".join(map(str, version)), gipp_source, schema)
    output.parent.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Absolute paths: Sen2Cor runs in the scratch folder.
    scratch = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent)).resolve()
    try:
        l1c = unpack_l1c(product.resolve(), scratch)
        gipp = job_gipp(gipp_source, scratch / "L2A_GIPP.xml", threads, schema)
        out_dir, home = scratch / "out", scratch / "home"
        out_dir.mkdir()
        home.mkdir()
        cmd = command(settings, program, l1c, out_dir, gipp, home, threads, mem_mb)
        log.info("running %s", " ".join(cmd))
        env = dict(os.environ, SEN2COR_HOME=str(home))
        with open(log_path, "w", encoding="utf-8") as sink:
            rc = run_stopping(cmd, sink, scratch, env, timeout_s)
        report = keep_report(home, Path(report_log) if report_log else None)
        hint = diagnosis(log_path, report)
        if rc is None:
            raise ProductError(
                product,
                f"Sen2Cor did not finish within {timeout_s:.0f} s (the rule's runtime less "
                f"{TIMEOUT_MARGIN_S} s) and was stopped; {hint}",
            )
        if rc != 0:
            raise ProductError(product, f"Sen2Cor exited with status {rc}; {hint}")
        if FAILED_RUN in log_path.read_text(encoding="utf-8", errors="replace"):
            raise ProductError(product, f"Sen2Cor exited with status 0 but says it {FAILED_RUN}; {hint}")
        safe = find_l2a(out_dir, hint)
        check_l2a(safe, product.name, required_bands, hint)
        staged = scratch / "staged"
        staged.mkdir()
        safe.rename(staged / safe.name)
        if output.exists():
            shutil.rmtree(output)
        os.replace(staged, output)
        return output / safe.name
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
