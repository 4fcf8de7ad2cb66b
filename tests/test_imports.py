"""The imports of scripts/soilsat, read with ast (nothing is imported): no import circle, no private name of another
module.

Every import statement counts, at module level, inside functions and under TYPE_CHECKING alike: a circle that only
a deferred import keeps from failing is still a circle in the design.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

Graph = Mapping[str, Mapping[str, int]]  # module -> {imported module: line of its first import}


@dataclass(frozen=True)
class Import:
    """One soilsat module an import statement loads, and the names it takes from that module."""

    module: str
    names: tuple[str, ...]
    line: int


def package_modules(root: Path, package: str = "soilsat") -> dict[str, Path]:
    """Every module of a package under `root` by dotted name (a package's __init__ stands for the package)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def is_private(name: str) -> bool:
    """Whether a name starts with one underscore (dunders are public)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def source_module(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a `from ... import` reads from, relative imports resolved against `module`."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(tree: ast.AST, module: str, is_package: bool, modules: Mapping[str, Path]) -> Iterator[Import]:
    """The package modules a module imports anywhere in its body, with the names it takes from each."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield Import(alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            source = source_module(node, module, is_package)
            if source not in modules:
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules:
                    yield Import(submodule, (), node.lineno)
                else:
                    yield Import(source, (alias.name,), node.lineno)


def module_names(tree: ast.AST, module: str, is_package: bool, modules: Mapping[str, Path]) -> dict[str, str]:
    """Local names bound to package modules (`import soilsat.x as m`, `from soilsat import x`) -> module."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {alias.asname or alias.name: alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            source = source_module(node, module, is_package)
            bound |= {
                alias.asname or alias.name: f"{source}.{alias.name}"
                for alias in node.names
                if f"{source}.{alias.name}" in modules
            }
    return bound


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` of a chain of names and attributes, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def private_uses(root: Path, module: str, modules: Mapping[str, Path]) -> Iterator[str]:
    """`file:line: what` for each private name of another package module that `module` imports or reads."""
    path = modules[module]
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    where = path.relative_to(root.parent)
    for imp in imports(tree, module, is_package, modules):
        if imp.module == module:
            continue
        yield from (f"{where}:{imp.line}: from {imp.module} import {name}" for name in imp.names if is_private(name))
        parent, _, leaf = imp.module.rpartition(".")
        if not imp.names and is_private(leaf) and not (module == parent or module.startswith(parent + ".")):
            yield f"{where}:{imp.line}: imports {imp.module}, a private module of {parent}"
    aliases = module_names(tree, module, is_package, modules)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = dotted(node.value) or ""
            target = aliases.get(owner, owner if owner in modules else None)
            if target and target != module:
                yield f"{where}:{node.lineno}: {owner}.{node.attr}, a private name of {target}"


def import_graph(modules: Mapping[str, Path]) -> dict[str, dict[str, int]]:
    """For each module, the package modules it imports and the line of the first import of each."""
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        edges: dict[str, int] = {}
        for imp in imports(tree, module, path.name == "__init__.py", modules):
            if imp.module != module:
                edges.setdefault(imp.module, imp.line)
        graph[module] = edges
    return graph


def circular_groups(graph: Graph) -> list[list[str]]:
    """The sorted groups of modules that import each other in a circle (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def shortest_circle(group: list[str], graph: Graph) -> list[str]:
    """The shortest import circle through the first module of a group (breadth first), ending where it starts."""
    start, members = group[0], set(group)
    paths, queue = {start: [start]}, [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node]):
            if nxt == start:
                return paths[node] + [start]
            if nxt in members and nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    raise ValueError(f"no circle through {start} in {group}")


def describe(circle: list[str], graph: Graph, modules: Mapping[str, Path], root: Path) -> str:
    """A circle as `a (a.py:12) -> b (b.py:3) -> a`: each module with the line that imports the next."""
    steps = [f"{a} ({modules[a].relative_to(root.parent)}:{graph[a][b]})" for a, b in itertools.pairwise(circle)]
    return " -> ".join([*steps, circle[-1]])


def circles(root: Path) -> list[str]:
    """One described circle per group of modules of the package under `root` that import each other in a circle."""
    modules = package_modules(root)
    graph = import_graph(modules)
    return [describe(shortest_circle(group, graph), graph, modules, root) for group in circular_groups(graph)]


def private_names(root: Path) -> list[str]:
    """Every use of another module's private name in the package under `root`."""
    modules = package_modules(root)
    return [use for module in modules for use in private_uses(root, module, modules)]


def write_package(root: Path, files: Mapping[str, str]) -> Path:
    """A package `soilsat` under `root` with the given module sources (paths relative to the package)."""
    for name, text in files.items():
        path = root / "soilsat" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_no_import_circle():
    found = circles(SCRIPTS)
    assert not found, "import circles among soilsat modules:\n" + "\n".join(found)


def test_no_private_name_of_another_module():
    found = private_names(SCRIPTS)
    assert not found, "private names used across soilsat modules:\n" + "\n".join(found)


def test_the_walk_finds_a_circle_closed_inside_a_function(tmp_path):
    root = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "a/base.py": "from soilsat.a.leaf import VALUE\n\n\ndef late():\n    from soilsat.a import factory\n",
            "a/factory.py": "from . import base\n",
            "a/leaf.py": "VALUE = 1\n",
        },
    )
    folder = f"{tmp_path.name}/soilsat/a"
    circle = f"soilsat.a.base ({folder}/base.py:5) -> soilsat.a.factory ({folder}/factory.py:1) -> soilsat.a.base"
    assert circles(root) == [circle]


def test_the_walk_finds_private_names_imported_or_read(tmp_path):
    root = write_package(
        tmp_path,
        {
            "__init__.py": '__version__ = "1"\n',
            "a/__init__.py": "",
            "a/cdse.py": "def _attr():\n    pass\n\n\ndef _own():\n    return _attr()\n",
            "a/orbits.py": "from soilsat.a.cdse import _attr\nfrom soilsat import __version__\n",
            "a/dem.py": (
                "import soilsat.a.cdse as c\nfrom soilsat.a import cdse\n\nc._attr()\ncdse._attr()\ncdse.run()\n"
            ),
            "a/_hidden.py": "",
            "a/sibling.py": "from soilsat.a import _hidden\n",
            "b.py": "import soilsat.a._hidden\n",
        },
    )
    assert sorted(private_names(root)) == sorted(
        [
            f"{tmp_path.name}/soilsat/a/orbits.py:1: from soilsat.a.cdse import _attr",
            f"{tmp_path.name}/soilsat/a/dem.py:4: c._attr, a private name of soilsat.a.cdse",
            f"{tmp_path.name}/soilsat/a/dem.py:5: cdse._attr, a private name of soilsat.a.cdse",
            f"{tmp_path.name}/soilsat/b.py:1: imports soilsat.a._hidden, a private module of soilsat.a",
        ]
    )
