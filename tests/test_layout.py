"""The rooms of the code: which module may import which, and the README's map of the tree.

The import graph counts every import in a file, at its top or inside a function: a cycle through a deferred import
still means two modules that cannot be understood (or moved) one without the other."""
import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The application's own code. Entry points (tests, bench/, docs/, migrations/, gunicorn.conf.py) build or drive the
# app from outside and are not part of it.
SOURCES = ["app.py", "extensions.py", "config.py", "models", "jobs", "domain", "blueprints", "seeding"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    files = []
    for source in SOURCES:
        path = ROOT / source
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
    return {_module_name(path): path for path in files}


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The names of the modules an import statement reads, as dotted names (a relative import resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    # `from pkg import name` reads pkg.name when that is a module, pkg otherwise.
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def import_graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports anywhere in its file."""
    modules = _project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets = _imported(node, name, is_package)
            if isinstance(node, ast.ImportFrom):
                # A submodule named in the import is the target; its package only when no name is a module.
                submodules = [t for t in targets[:-1] if t in modules]
                targets = submodules or [targets[-1]]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the list of modules around it (the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_deferred_and_relative_imports():
    graph = import_graph()
    assert "models.base" in graph["models.application"]  # from .base import ...
    assert "domain.accounts" in graph["blueprints.auth"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_nothing_imports_the_app_module():
    """app.py is the factory: the entry points build the app; no module of the app reaches back into it."""
    importers = sorted(name for name, targets in import_graph().items() if "app" in targets)
    assert importers == []


@pytest.mark.parametrize(("lower", "upper"), [("models", "domain"), ("models", "blueprints"),
                                              ("domain", "blueprints"), ("models", "seeding"),
                                              ("domain", "seeding"), ("seeding", "blueprints"),
                                              ("blueprints", "bench"), ("models", "jobs"), ("jobs", "domain"),
                                              ("jobs", "blueprints")])
def test_a_layer_does_not_import_the_one_above(lower, upper):
    graph = import_graph()
    reaching = sorted(f"{name} -> {target}" for name, targets in graph.items()
                      if name.split(".")[0] == lower for target in targets | _raw_imports(name)
                      if target.split(".")[0] == upper)
    assert reaching == []


def _raw_imports(module: str) -> set[str]:
    """Every dotted name the module imports, the project's or not (bench/ is outside the graph's modules)."""
    path = _project_modules()[module]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= set(_imported(node, module, path.name == "__init__.py"))
    return names


def _layout_table() -> list[str]:
    """The paths of the README's layout table, as written (`models/`, `static/`, `app.py`)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return [match.group(1) for match in re.finditer(r"^\| `([^`]+)` \|", section, re.MULTILINE)]


def _top_level() -> set[str]:
    """The repository's top level as git tracks it, without hidden entries and the README itself; a folder ends in /."""
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return {name.split("/")[0] + ("/" if "/" in name else "") for name in names
            if not name.startswith(".") and name != "README.md"}


def test_the_readme_layout_table_matches_the_top_level():
    entries = _layout_table()
    assert len(entries) == len(set(entries))
    assert sorted(entries) == sorted(_top_level())


# ---------------------------------------------------------------- line length

MAX_LINE = 120  # pyproject.toml's [tool.ruff] line-length


def test_no_line_of_the_app_is_longer_than_the_limit():
    """Every line of the application's code fits 120 characters (migrations, generated, are not the app's code)."""
    long = [f"{path.relative_to(ROOT)}:{number} ({len(line)})" for path in _project_modules().values()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if len(line) > MAX_LINE]
    assert not long, "lines over 120 characters: " + ", ".join(long)


# ---------------------------------------------------------------- what the requirements pin

# Pinned for what they run, not for an import: the production server, and the pytest plugin that gives the browser
# tests their `browser` and `page` fixtures.
RUN_NOT_IMPORTED = {"gunicorn"}
DEV_NOT_IMPORTED = {"pytest-playwright"}


def _pins(name: str) -> set[str]:
    from packaging.requirements import Requirement

    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return {_normal(Requirement(line).name) for line in (line.split("#")[0].strip() for line in lines)
            if line and not line.startswith("-")}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_distributions(folders: list[str]) -> set[str]:
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    names = set()
    for folder in folders:
        path = ROOT / folder
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return {_normal(dist) for name in names for dist in distributions.get(name, [])}


def _required_by(pins: set[str]) -> set[str]:
    """The distributions the pinned ones depend on, as installed (any extra counted)."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement

    needed = set()
    for pin in pins:
        try:
            needed |= {_normal(Requirement(text).name) for text in requires(pin) or []}
        except PackageNotFoundError:
            pass
    return needed


def test_requirements_pin_nothing_unused():
    """Each pin of requirements.txt is imported by the app (or run, RUN_NOT_IMPORTED), or needed by another pin; so
    is each pin of requirements-dev.txt by the tests, the benchmarks or the docs' script."""
    run = _pins("requirements.txt")
    app_imports = _imported_distributions([*SOURCES, "migrations", "gunicorn.conf.py"])
    assert sorted(run - app_imports - RUN_NOT_IMPORTED - _required_by(run)) == []
    dev = _pins("requirements-dev.txt")
    dev_imports = _imported_distributions(["tests", "bench", "docs"])
    assert sorted(dev - dev_imports - DEV_NOT_IMPORTED - _required_by(dev | run)) == []


# ---------------------------------------------------------------- thin views

ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}
MAX_VIEW_LINES = 20
# Over the limit while another change to it is under way; to be shortened after that lands. The test below fails
# once it fits, so that this list cannot outlive its reason.
NOT_YET_SHORT: set[str] = set()


def _views() -> list[tuple[str, str, int]]:
    """Every function of blueprints/ decorated as a route: (file, name, lines from its `def` to its end)."""
    views = []
    for path in sorted((ROOT / "blueprints").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                    isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ROUTE_DECORATORS
                    for d in node.decorator_list):
                views.append((str(path.relative_to(ROOT)), node.name, node.end_lineno - node.lineno + 1))
    return views


def test_the_view_finder_sees_the_views():
    names = {(path, name) for path, name, _ in _views()}
    assert ("blueprints/applications.py", "step") in names
    assert ("blueprints/auth.py", "login") in names  # under two decorators, a route and the rate limit


def test_no_view_is_longer_than_twenty_lines():
    """A view reads the request, calls one domain verb and answers; anything longer has logic to move out."""
    long = {f"{path}:{name}": lines for path, name, lines in _views() if lines > MAX_VIEW_LINES}
    assert sorted(f"{view} ({lines} lines)" for view, lines in long.items() if view not in NOT_YET_SHORT) == []
    assert sorted(NOT_YET_SHORT - set(long)) == []  # shortened: drop it from NOT_YET_SHORT
