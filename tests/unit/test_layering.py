"""The package tree is the architecture: imports go only down the stages, and no module imports itself back.

Read with `ast` (nothing is imported): every `import harness.x` / `from harness.x import y` in every module,
top-level or inside a function, is an edge. Lazy imports count too: they run eventually, and an upward one
still ties a lower stage to a higher.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "harness"

# Lower rank = lower stage. A module may import its own stage or any stage of a lower rank, never one of the
# same rank that is not its own (peers stay independent) and never a higher one.
STAGE_RANK = {
    "__init__": 10,  # harness/__init__.py: the public facade (lazy imports), above every stage
    "version": 0,
    "errors": 0, "host": 0, "formatting": 0,
    "store": 1,
    "config": 2,
    "energy": 3, "cost": 3,
    "backends": 4, "checkers": 4, "analysis": 4,
    "suites": 5,
    "execution": 6, "report": 6,
    "api": 7,  # harness/api.py: run(spec), resume(run_dir), the checked plan
    "cli": 8,
    "__main__": 9,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The harness module an import names (a package's __init__ for a package), or None outside harness."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """module -> the harness modules it imports (anywhere in its body)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from harness.report import svg` imports the submodule harness.report.svg.
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] != "harness":
                    continue
                resolved = _resolve(target, modules)
                if resolved and resolved != name:
                    edges.add(resolved)
        graph[name] = edges
    return graph


def stage_of(module: str) -> str:
    """`harness.execution.session` -> `execution`; `harness` itself -> `__init__`; `harness.__main__` -> `__main__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every edge that goes to a higher stage, or sideways to a peer stage of the same rank."""
    bad = []
    for source, targets in graph.items():
        src_stage = stage_of(source)
        for target in sorted(targets):
            dst_stage = stage_of(target)
            if dst_stage != src_stage and STAGE_RANK[dst_stage] >= STAGE_RANK[src_stage]:
                bad.append(f"{source} ({src_stage}) imports {target} ({dst_stage})")
    return bad


def test_every_module_belongs_to_a_known_stage():
    unknown = sorted({stage_of(m) for m in _modules()} - STAGE_RANK.keys())
    assert not unknown, f"add these to STAGE_RANK (and the README's Layout): {unknown}"


def test_no_import_cycle_inside_harness():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()) or [])


def test_imports_only_go_down_the_stages():
    assert upward_imports(import_graph()) == []


@pytest.mark.parametrize("graph, expected", [
    ({"harness.a.x": {"harness.b.y"}, "harness.b.y": {"harness.a.x"}}, ["harness.a.x", "harness.b.y", "harness.a.x"]),
    ({"harness.a.x": {"harness.b.y"}, "harness.b.y": set()}, None),
])
def test_the_cycle_finder_finds_a_planted_cycle(graph, expected):
    assert find_cycle(graph) == expected


def test_the_stage_check_catches_an_upward_and_a_sideways_import():
    planted = {"harness.store.records": {"harness.execution.session"}, "harness.energy.nvml": {"harness.cost.local"},
               "harness.execution.session": {"harness.store.records"}}
    assert upward_imports(planted) == [
        "harness.store.records (store) imports harness.execution.session (execution)",
        "harness.energy.nvml (energy) imports harness.cost.local (cost)",
    ]


def test_no_two_modules_share_a_file_name():
    names: dict[str, list[str]] = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        if path.name != "__init__.py":
            names.setdefault(path.name, []).append(str(path.relative_to(PACKAGE_DIR)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}


def test_no_class_is_defined_in_an_init_file():
    # __init__ files hold the stage docstring and re-exports; classes live in modules named for them
    defined = [f"{path.relative_to(PACKAGE_DIR)}: {node.name}" for path in PACKAGE_DIR.rglob("__init__.py")
               for node in ast.parse(path.read_text()).body if isinstance(node, ast.ClassDef)]
    assert defined == []
