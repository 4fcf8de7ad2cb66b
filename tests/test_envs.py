"""Every rule's conda env provides what its script imports, directly or through soilsat.

The rules are read with Snakemake's API, so the check follows whatever rules exist. For each
rule with a script, the imports of the script and of every soilsat module it reaches
(transitively, with ast) are mapped to conda-forge package names and compared with the
rule's env file. The envs themselves pin conda-forge packages at major.minor, with the exact
version known to work beside each, agreeing with the virtualenv the tests run in (requirements.txt).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SNAKEMAKE

SCRIPTS = ROOT / "scripts"
ENVS = ROOT / "envs"

# Import name -> the conda-forge package that provides it; "pip:NAME" for pip-only packages.
# Every third-party import in scripts/ must appear here: an unknown name fails the test, so a
# new dependency gets a deliberate entry rather than a guess from the import name.
IMPORT_PACKAGES = {
    "affine": "affine",
    "cdsapi": "pip:cdsapi",
    "dask": "dask-core",
    "defusedxml": "defusedxml",
    "h5netcdf": "h5netcdf",
    "h5py": "h5py",
    "ismn": "pip:ismn",
    "jsonschema": "jsonschema",
    "lxml": "lxml",
    "matplotlib": "matplotlib-base",
    "netCDF4": "netcdf4",
    "numba": "numba",
    "numpy": "numpy",
    "pandas": "pandas",
    "PIL": "pillow",
    "pyarrow": "pyarrow",
    "pyhdf": "pyhdf",
    "pyproj": "pyproj",
    "pytesmo": "pip:pytesmo",
    "referencing": "referencing",
    "shapefile": "pyshp",
    "rasterio": "rasterio",
    "requests": "requests",
    "rioxarray": "rioxarray",
    "scipy": "scipy",
    "shapely": "shapely",
    "sklearn": "scikit-learn",
    "torch": "pytorch",
    "xarray": "xarray",
    "xarray_sentinel": "xarray-sentinel",
    "xmlschema": "xmlschema",
    "yaml": "pyyaml",
}

# Imports that come with an external tool, not from conda: the rule's container provides them.
EXTERNAL_IMPORTS = {"esa_snappy": "ESA SNAP's Python bridge (sentinel1.snap.container)"}

# Methods whose backend is imported by the library at call time, not by our code:
# a call of any of these needs one of the listed packages in the env.
CALL_PACKAGES = {
    "read_parquet": ("pyarrow",),
    "to_parquet": ("pyarrow",),
    "to_netcdf": ("netcdf4", "h5netcdf"),
}

# conda-forge name -> the name of the same project in requirements.txt, where they differ.
CONDA_TO_PIP = {"pytorch": "torch", "matplotlib-base": "matplotlib", "netcdf4": "netCDF4", "pyyaml": "PyYAML"}


@dataclass(frozen=True)
class RuleSoftware:
    """What a rule declares about its software: its script, conda env file and container."""

    name: str
    script: Path | None
    conda_env: Path | None
    container: str | None
    norun: bool


def load_rules(snakefile: Path = ROOT / "Snakefile") -> list[RuleSoftware]:
    """Every rule of the workflow, parsed with Snakemake's API on the shipped config."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
        WorkflowSettings,
    )

    with SnakemakeApi(OutputSettings()) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(),
            storage_settings=StorageSettings(),
            workflow_settings=WorkflowSettings(),
            snakefile=snakefile,
            workdir=snakefile.parent,
        )._workflow
        rules = []
        for rule in workflow.rules:
            base = Path(rule.basedir)
            env = rule.conda_env
            rules.append(
                RuleSoftware(
                    name=rule.name,
                    script=(base / rule.script).resolve() if rule.script else None,
                    conda_env=(base / str(env)).resolve() if env else None,
                    container=str(rule.container_img) if rule.container_img else None,
                    norun=bool(rule.norun),
                )
            )
    return rules


def env_packages(path: Path) -> set[str]:
    """Package names an env file provides: conda names, and pip names as 'pip:NAME'."""
    spec = yaml.safe_load(path.read_text())
    names = set()
    for dep in spec.get("dependencies") or []:
        if isinstance(dep, dict):
            names |= {"pip:" + re.split(r"[=<>!~\[ ]", pip, maxsplit=1)[0].lower() for pip in dep.get("pip", [])}
        else:
            names.add(re.split(r"[=<>!~ ]", str(dep), maxsplit=1)[0].lower())
    return names


def is_optional(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether an import sits under `try: ... except ImportError` or `if TYPE_CHECKING:`."""
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.Try) and node in parent.body:
            for handler in parent.handlers:
                names = [
                    h.id if isinstance(h, ast.Name) else getattr(h, "attr", "")
                    for h in (handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type])
                ]
                if {"ImportError", "ModuleNotFoundError"} & set(names):
                    return True
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
            return True
        node = parent
    return False


def module_imports(path: Path, package: str | None) -> tuple[set[str], set[str]]:
    """Absolute module names a file imports (optional imports left out) and methods it calls."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    modules, calls = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            calls.add(node.func.attr)
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or is_optional(node, parents):
            continue
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
            continue
        base = node.module or ""
        if node.level:
            anchor = (package or "").split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        modules.add(base)
        # `from soilsat.x import y` may name a submodule y: keep it as a candidate.
        modules |= {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}
    return modules, calls


def soilsat_file(module: str) -> Path | None:
    """The source file of a soilsat module or package, or None when `module` is not one."""
    stem = SCRIPTS.joinpath(*module.split("."))
    for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def script_requirements(script: Path) -> tuple[dict[str, set[str]], set[str]]:
    """Third-party import names reached from a script (with the files importing them) and its calls."""
    found: dict[str, set[str]] = {}
    calls: set[str] = set()
    todo, seen = [(script, None)], set()
    while todo:
        path, package = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        modules, file_calls = module_imports(path, package)
        calls |= file_calls
        for module in modules:
            top = module.split(".")[0]
            if top == "soilsat":
                parts = module.split(".")
                # Importing soilsat.a.b runs soilsat/__init__.py and soilsat/a/__init__.py too.
                for n in range(1, len(parts) + 1):
                    target = soilsat_file(".".join(parts[:n]))
                    if target is not None:
                        pkg = ".".join(parts[:n]) if target.name == "__init__.py" else ".".join(parts[: n - 1])
                        todo.append((target, pkg))
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                found.setdefault(top, set()).add(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))
    return found, calls


def missing_packages(rules: list[RuleSoftware]) -> list[str]:
    """One line per problem: a rule whose conda env lacks a package its code needs, or no env at all."""
    problems = []
    for rule in rules:
        if rule.norun:
            continue
        if rule.conda_env is None and rule.container is None:
            problems.append(f"rule {rule.name}: neither conda: nor container:")
            continue
        if rule.conda_env is None or rule.script is None:
            continue
        if not rule.conda_env.is_file():
            problems.append(f"rule {rule.name}: conda env {rule.conda_env} does not exist")
            continue
        if not rule.script.is_file():
            problems.append(f"rule {rule.name}: script {rule.script} does not exist")
            continue
        provided = env_packages(rule.conda_env)
        imports, calls = script_requirements(rule.script)
        for name, files in sorted(imports.items()):
            package = IMPORT_PACKAGES.get(name)
            if name in EXTERNAL_IMPORTS:
                continue
            if package is None:
                problems.append(
                    f"rule {rule.name}: import {name} ({', '.join(sorted(files))}) "
                    f"is not in IMPORT_PACKAGES of tests/test_envs.py"
                )
            elif package.lower() not in provided:
                problems.append(
                    f"rule {rule.name}: {rule.conda_env.name} lacks {package} "
                    f"(import {name} in {', '.join(sorted(files))})"
                )
        for call, packages in sorted(CALL_PACKAGES.items()):
            if call in calls and not provided & set(packages):
                problems.append(
                    f"rule {rule.name}: {rule.conda_env.name} lacks {' or '.join(packages)} (needed by .{call}())"
                )
    return problems


@pytest.fixture(scope="module")
def rules() -> list[RuleSoftware]:
    return load_rules()


def test_every_rule_env_provides_its_imports(rules):
    assert len([r for r in rules if r.script]) >= 10
    assert missing_packages(rules) == []


def test_check_reports_a_removed_dependency(rules, tmp_path):
    # Take a rule that needs a conda package, drop that package from a copy of its env.
    for rule in rules:
        if rule.conda_env and rule.script and not rule.norun:
            needed = sorted(
                IMPORT_PACKAGES[name]
                for name in script_requirements(rule.script)[0]
                if not IMPORT_PACKAGES.get(name, "pip:").startswith("pip:")
            )
            if needed:
                break
    else:
        pytest.fail("no rule imports a conda package")
    victim = "pyarrow" if "pyarrow" in needed else needed[-1]
    spec = yaml.safe_load(rule.conda_env.read_text())
    spec["dependencies"] = [d for d in spec["dependencies"] if not str(d).startswith(f"{victim}=")]
    broken = tmp_path / rule.conda_env.name
    broken.write_text(yaml.safe_dump(spec))
    assert victim not in env_packages(broken)
    swapped = [RuleSoftware(r.name, r.script, broken, None, False) if r is rule else r for r in rules]
    new = set(missing_packages(swapped)) - set(missing_packages(rules))
    assert new and all(p.startswith(f"rule {rule.name}: {broken.name} lacks {victim} (") for p in new)


def test_check_reports_unknown_imports_and_rules_without_software(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import os\nimport numpy as np\nimport not_a_known_package\nfrom soilsat import io\n")
    env = tmp_path / "env.yaml"
    env.write_text("channels: [conda-forge, nodefaults]\ndependencies: [python=3.11]\n")
    problems = missing_packages(
        [
            RuleSoftware("r1", script, env, None, False),
            RuleSoftware("r2", None, None, None, False),
            RuleSoftware("r3", None, None, "docker://example/tool:1.0", False),
        ]
    )
    assert any(p.startswith(f"rule r1: env.yaml lacks numpy (import numpy in {script}") for p in problems)
    assert any("import not_a_known_package" in p and "IMPORT_PACKAGES" in p for p in problems)
    assert "rule r2: neither conda: nor container:" in problems
    assert not any(p.startswith("rule r3") for p in problems)
    # soilsat.io was followed: its own imports (rasterio, ...) are reported for r1 as well.
    assert any("lacks rasterio" in p and "soilsat/io.py" in p for p in problems)


def requirement_pins() -> dict[str, str]:
    """Package -> version pinned in requirements.txt (names lower-cased)."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            pins[name.lower()] = version
    return pins


def major_minor(version: str) -> str:
    """A version at major.minor precision: 2026.9.0 -> 2026.9."""
    return ".".join(version.split(".")[:2])


@pytest.mark.parametrize("env", sorted(ENVS.glob("*.yaml")), ids=lambda p: p.stem)
def test_env_pins_major_minor_from_conda_forge_like_the_virtualenv(env):
    """Each package at major.minor (a solver can satisfy it), the exact version known to work beside it in a comment,
    both agreeing with the virtualenv's requirements.txt."""
    spec = yaml.safe_load(env.read_text())
    assert spec["channels"] == ["conda-forge", "nodefaults"]
    text = env.read_text()
    pins = requirement_pins()
    checked = 0
    for dep in spec["dependencies"]:
        entries = [(d, "==") for d in dep["pip"]] if isinstance(dep, dict) else [(dep, "=")]
        for entry, sep in entries:
            suffix = r"\.\*" if sep == "==" else ""
            match = re.fullmatch(rf"([A-Za-z0-9_.\-]+){sep}([0-9]+\.[0-9]+){suffix}", entry)
            assert match, f"{env.name}: {entry} is not pinned at major.minor"
            name, version = match.groups()
            known = re.search(rf"- {re.escape(entry)}\s+# known to work: ([0-9][0-9A-Za-z.+]*)", text)
            assert known, f"{env.name}: {entry} lacks its '# known to work: <exact version>' comment"
            exact = known.group(1)
            assert major_minor(exact) == version, f"{env.name}: {entry} but known to work {exact}"
            if name == "python":
                assert exact == "{}.{}.{}".format(*sys.version_info[:3]), f"{env.name}: python {exact}"
            pip_name = CONDA_TO_PIP.get(name, name).lower()
            if pip_name in pins:
                # conda-forge builds carry the upstream version; PyPI may add a post-release.
                assert pins[pip_name] == exact or pins[pip_name].startswith(exact + "."), (
                    f"{env.name}: {name} known to work {exact} but requirements.txt pins {pip_name}=={pins[pip_name]}"
                )
                checked += 1
    assert checked >= 3


def software_lints(snakefile: Path) -> list[str]:
    """Rules that `snakemake --lint` says lack a conda env or container."""
    proc = subprocess.run(
        [str(SNAKEMAKE), "--lint", "--snakefile", str(snakefile), "--workflow-profile", "none"],
        capture_output=True,
        text=True,
        cwd=snakefile.parent,
    )
    text = proc.stdout + proc.stderr
    assert "Congratulations" in text or "Lints for" in text, text[-2000:]
    blocks = re.split(r"^Lints for rule (\w+) ", text, flags=re.M)[1:]
    return [
        rule for rule, body in zip(blocks[::2], blocks[1::2]) if "conda environment or container for each rule" in body
    ]


def test_lint_finds_no_rule_without_software(tmp_path):
    if not SNAKEMAKE.exists():
        pytest.skip(f"snakemake not found at {SNAKEMAKE}")
    assert software_lints(ROOT / "Snakefile") == []
    # The same lint parse names a rule that has neither conda: nor container:.
    (tmp_path / "Snakefile").write_text(
        'rule bare:\n    output: "x"\n    log: "l"\n    shell: "touch {output} 2> {log}"\n'
        'rule fine:\n    output: "y"\n    log: "m"\n    conda: "e.yaml"\n'
        '    shell: "touch {output} 2> {log}"\n'
    )
    (tmp_path / "e.yaml").write_text("channels: [conda-forge, nodefaults]\ndependencies: [python=3.11.7]\n")
    assert software_lints(tmp_path / "Snakefile") == ["bare"]


def test_an_exact_patch_pin_is_refused(tmp_path):
    env = tmp_path / "stage.yaml"
    env.write_text("channels: [conda-forge, nodefaults]\ndependencies:\n  - affine=3.0.1  # known to work: 3.0.1\n")
    with pytest.raises(AssertionError, match="affine=3.0.1 is not pinned at major.minor"):
        test_env_pins_major_minor_from_conda_forge_like_the_virtualenv(env)
    env.write_text("channels: [conda-forge, nodefaults]\ndependencies:\n  - affine=3.0\n")
    with pytest.raises(AssertionError, match="lacks its '# known to work"):
        test_env_pins_major_minor_from_conda_forge_like_the_virtualenv(env)
