"""The module layout: jobs on top, one module per thing fetched, the client owning every GitHub endpoint."""

import ast
import inspect
import re
from pathlib import Path

import pytest

from chalicelib import entities

CHALICELIB = Path(__file__).resolve().parents[1] / "chalicelib"
FETCHING_MODULES = ("items", "members", "timelines", "listings", "transfers", "completeness", "history")


def local_imports(module: str) -> set[str]:
    """The chalicelib modules a module (`report/model` for one in a package) imports, by their top-level name."""
    tree = ast.parse((CHALICELIB / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and "/" not in module:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 2:
            found |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize("module", FETCHING_MODULES)
def test_no_fetching_module_imports_another(module):
    assert local_imports(module) & set(FETCHING_MODULES) == set()


def test_the_runner_reaches_the_fetching_modules_only_through_jobs():
    assert local_imports("runner") & set(FETCHING_MODULES) == set()
    assert set(FETCHING_MODULES) <= local_imports("jobs")


def test_no_github_path_is_built_outside_the_client():
    path_literal = re.compile(r"""["'](/repos/|/orgs/|/search/|/users/)""")
    client = CHALICELIB / "github"
    offenders = [
        f"{path.relative_to(CHALICELIB.parent)}:{number}"
        for path in [*CHALICELIB.rglob("*.py"), *CHALICELIB.parent.glob("*.py")]
        if client not in path.parents
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if path_literal.search(line)
    ]
    assert offenders == []


@pytest.mark.parametrize("module", FETCHING_MODULES)
def test_no_fetching_module_writes_but_through_the_load_path(module):
    assert "store" not in local_imports(module), "load.py is the one way to write: load, unit and put"


def test_incremental_state_is_reached_only_through_the_named_cursors():
    reaching = [
        path.name
        for path in [*CHALICELIB.rglob("*.py"), *CHALICELIB.parent.glob("*.py")]
        if path.name not in ("state.py", "models.py") and "migrations" not in path.parts
        if "SyncState" in path.read_text() or "FROM sync_state" in path.read_text()
    ]
    assert reaching == [], "declare a Cursor in chalicelib/state.py"


@pytest.mark.parametrize("module", [f"report/{p.stem}" for p in (CHALICELIB / "report").glob("*.py")])
def test_the_report_imports_neither_the_job_runner_nor_the_jobs(module):
    assert local_imports(module) & {"runner", "jobs", "context"} == set()


def test_no_module_is_over_450_lines_and_no_function_over_50():
    long_modules, long_functions = [], []
    for path in CHALICELIB.rglob("*.py"):
        text = path.read_text()
        if len(text.splitlines()) > 450:
            long_modules.append(path.name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 50:
                long_functions.append(f"{path.relative_to(CHALICELIB)}:{node.name}")
    assert long_modules == [] and long_functions == []


def test_entities_import_neither_the_client_nor_the_job_context():
    assert local_imports("entities") & {"github", "context", "runner", "jobs", "load"} == set()


@pytest.mark.parametrize(
    "entity",
    [value for value in vars(entities).values() if isinstance(value, entities.Entity)],
    ids=lambda entity: entity.name,
)
def test_every_entity_maps_with_one_signature(entity):
    payload, parent = inspect.signature(entity.to_row).parameters.values()
    assert parent.name == "parent" and parent.default is None and payload.default is inspect.Parameter.empty
