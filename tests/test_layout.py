"""The package's rooms: a small public root, and imports that only point down the pipeline.

Rooms, lowest first (a module may import its own room and any lower one, never a higher one):
engine and warehouse (pure), compute and spec, publish and checks, assets, component, demo and dev,
and the package root (the public face). The graph of module imports has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "ici_assets"

#: Each room's level; a module imports only rooms of a lower level or its own room.
LEVELS = {
    "engine": 0,
    "warehouse": 0,
    "compute": 1,
    "spec": 1,
    "publish": 2,
    "checks": 2,
    "assets": 3,
    "component": 4,
    "demo": 5,
    "dev": 5,
    "": 6,  # the package root: __init__, cli, definitions
}
ROOT_FILES_MAX = 6


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else ""


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            guarded.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return guarded


def imports_of(path: Path, runtime_only: bool = False) -> set[str]:
    """The ici_assets modules a file imports (at module level or inside functions; with ``runtime_only``
    not those under ``if TYPE_CHECKING:``)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    skip = _type_checking_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ici_assets"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ici_assets"):
            found.add(node.module)
            for alias in node.names:  # `from ici_assets.x import y` where y is a module
                candidate = f"{node.module}.{alias.name}"
                if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists():
                    found.add(candidate)
    return found


def import_graph(runtime_only: bool = False) -> nx.DiGraph:
    graph = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        graph.add_node(name)
        for target in imports_of(path, runtime_only):
            if target != name:
                graph.add_edge(name, target)
    return graph


def test_package_root_is_only_the_public_face():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= ROOT_FILES_MAX, root


def test_every_room_has_a_level():
    rooms = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == set(LEVELS) - {""}


def test_nothing_imports_upward():
    upward = [
        f"{source} ({room_of(source) or 'root'}) imports {target} ({room_of(target) or 'root'})"
        for source, target in import_graph().edges
        if target != "ici_assets" and LEVELS[room_of(target)] > LEVELS[room_of(source)]
    ]
    assert not upward, "\n".join(upward)


def test_rooms_import_each_other_without_cycles():
    rooms = nx.DiGraph()
    for source, target in import_graph().edges:
        a, b = room_of(source), room_of(target)
        if a != b and target != "ici_assets":
            rooms.add_edge(a or "root", b or "root")
    assert nx.is_directed_acyclic_graph(rooms), list(nx.simple_cycles(rooms))


def test_module_imports_have_no_cycle():
    graph = import_graph(runtime_only=True)
    graph.remove_nodes_from([n for n in list(graph) if n.count(".") == 0])  # `from ici_assets import engine`
    # a package's __init__ importing its own submodules is not a cycle of concern: drop package nodes' edges inward
    packages = {module_name(p) for p in PACKAGE.rglob("__init__.py")}
    graph.remove_edges_from([(s, t) for s, t in list(graph.edges) if t in packages and s.startswith(t + ".")])
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, cycles
