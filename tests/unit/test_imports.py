"""The package's imports: no cycles, every third-party import declared, nothing of the test and
bench extras needed at run time (issue 17)."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "jobs" / "flowlake"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
WITHOUT_TEST_PACKAGES = ROOT / "tests" / "without_test_packages"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> set[str]:
    """Every module name `path` imports, at its top or inside a function; `from a import b`
    gives both a and a.b (b may be a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {imported for imported in imported_names(path) if imported in modules and imported != "flowlake"}
            for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_a_module_that_imports_one_that_imports_it_back():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_flowlake_module_imports_a_module_that_imports_it_back():
    graph = import_graph()
    assert "flowlake.stages" in graph and graph["flowlake.runner"] >= {"flowlake.stages", "flowlake.session"}
    assert cycles(graph) == []


def test_the_stage_list_imports_nothing_but_the_standard_library():
    """The DAG processor imports it at parse time for the gold Assets' names."""
    imported = {name.split(".")[0] for name in imported_names(PACKAGE / "stages.py")}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def declared(requirements: list[str]) -> dict[str, Requirement]:
    return {normalised(Requirement(text).name): Requirement(text) for text in requirements}


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: str) -> dict[str, str]:
    text = (ROOT / "infra" / "locks" / f"{lock}.txt").read_text()
    return {normalised(name): version for name, version in re.findall(r"^([A-Za-z0-9][\w.\-]*)==(\S+)", text, re.M)}


def test_every_third_party_module_the_package_imports_is_a_declared_dependency():
    third_party = {name.split(".")[0] for path in PACKAGE.rglob("*.py") for name in imported_names(path)}
    third_party -= set(sys.stdlib_module_names) | {"flowlake", "__future__"}
    distributions = importlib.metadata.packages_distributions()
    dependencies = declared(PYPROJECT["project"]["dependencies"])
    undeclared = {module: distributions.get(module) for module in third_party
                  if not any(normalised(d) in dependencies for d in distributions.get(module, []))}
    assert not undeclared, f"imported by jobs/flowlake but not in pyproject.toml's dependencies: {undeclared}"


def test_each_lock_pins_every_dependency_of_its_use_within_what_pyproject_allows():
    extras = PYPROJECT["project"]["optional-dependencies"]
    uses = {"runtime": [], "production": ["airflow"], "dev": list(extras)}
    for lock, use_extras in uses.items():
        pins = locked(lock)
        wanted = declared(PYPROJECT["project"]["dependencies"] + [r for e in use_extras for r in extras[e]])
        for name, requirement in wanted.items():
            assert name in pins, f"infra/locks/{lock}.txt has no {name}: run make lock"
            assert requirement.specifier.contains(pins[name], prereleases=True), \
                f"infra/locks/{lock}.txt pins {name}=={pins[name]}, pyproject.toml asks {requirement}: run make lock"
        text = (ROOT / "infra" / "locks" / f"{lock}.txt").read_text()
        assert text.count("==") == len(pins) and len(re.findall(r"^[A-Za-z0-9].*==.* \\$", text, re.M)) == len(pins), \
            f"infra/locks/{lock}.txt: every pin must carry its hashes"


def test_neither_production_lock_holds_a_test_or_bench_package():
    extras = PYPROJECT["project"]["optional-dependencies"]
    test_and_bench = set(declared(extras["test"] + extras["bench"]))
    assert not test_and_bench & set(locked("runtime"))
    # Airflow's task SDK needs psutil itself; nothing else of the two extras may come with it.
    assert test_and_bench & set(locked("production")) == {"psutil"}


def test_flowlake_imports_and_every_command_starts_without_the_test_and_bench_packages(tmp_path):
    """Every module of the package imported, every stage's functions resolved and every command's
    options parsed (a bad config refused, before any Spark) where pytest, moto, DuckDB and the
    rest of the two extras cannot be imported."""
    (tmp_path / "bad.yaml").write_text("monitored_ranges: []\n")
    script = f"""
import pkgutil, importlib, flowlake
from flowlake import cli, stages
try:
    import pytest
    raise SystemExit("pytest was importable")
except ModuleNotFoundError:
    pass
for module in pkgutil.walk_packages(flowlake.__path__, "flowlake."):
    importlib.import_module(module.name)
for stage in stages.STAGES:
    for role in ("run", "summary", "check", "prepare"):
        if getattr(stage, role):
            stage.function(role)
for command in cli.COMMANDS:
    try:
        cli.main([command, "--help"])
    except SystemExit as done:
        assert done.code == 0, (command, done.code)
assert cli.main(["run", "--config", "{tmp_path}/bad.yaml"]) == 2
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WITHOUT_TEST_PACKAGES), str(ROOT / "jobs")])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout[-2000:] + done.stderr[-3000:]
