"""The package's shape: no import cycles, and modules and functions of a readable size.

Imports are read from the source (``ast``), not by importing: every module-level import of
every module of odibi_core (``if TYPE_CHECKING:`` blocks excluded, since they never run) is an
edge to the module it names, and to each package on the way (importing ``a.b.c`` runs
``a/b/__init__.py`` first). An edge from a module to one of its own enclosing packages is left
out: that package is already being imported when the module runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "odibi_core"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
#: a module or function over the limit says why in its docstring, in a line starting so
MODULE_REASON = "Over 400 lines:"
FUNCTION_REASON = "Over 60 lines:"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements that run when the module loads (into if / try blocks, not into defs)."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                out += _top_level(node.body)
            out += _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            out += _top_level(node.body)
            for handler in node.handlers:
                out += _top_level(handler.body)
            out += _top_level(node.orelse) + _top_level(node.finalbody)
        elif isinstance(node, ast.With):
            out += _top_level(node.body)
        else:
            out.append(node)
    return out


def _targets(module: str, is_package: bool, node: ast.stmt, known: set[str]) -> set[str]:
    names: set[str] = set()
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        names = {target} | {f"{target}.{alias.name}" for alias in node.names}
    edges = set()
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in known:
                edges.add(prefix)
    enclosing = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    return edges - enclosing - {module}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges: set[str] = set()
        for node in _top_level(tree.body):
            edges |= _targets(module, path.name == "__init__.py", node, known)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
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


def test_the_walk_sees_imports() -> None:
    graph = import_graph()
    assert "odibi_core.core.planning.ready_queue" in graph["odibi_core.core.execution.executor"]
    assert "odibi_core.errors" in graph["odibi_core.core.planning.ready_queue"]
    # a TYPE_CHECKING import is not an edge: nodes never import odibi_core.core at load time
    assert not any(target.startswith("odibi_core.core") for target in graph["odibi_core.nodes.base"])


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_odibi_core_has_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, f"import cycles (module-level imports): {found}"


def test_modules_and_functions_are_small_or_say_why() -> None:
    too_long = []
    for module, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, str(path))
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES and MODULE_REASON not in (ast.get_docstring(tree) or ""):
            too_long.append(f"{module}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES and FUNCTION_REASON not in (ast.get_docstring(node) or ""):
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert not too_long, (f"over {MAX_MODULE_LINES} lines per module / {MAX_FUNCTION_LINES} per"
                          f" function without a docstring line '{MODULE_REASON}' /"
                          f" '{FUNCTION_REASON}' saying why: {too_long}")


def test_every_error_class_is_drawn_in_the_errors_tree() -> None:
    import importlib
    import pkgutil

    import odibi_core
    from odibi_core import errors

    for info in pkgutil.walk_packages(odibi_core.__path__, "odibi_core."):
        if "spark" not in info.name:
            importlib.import_module(info.name)
    found, todo = set(), [errors.OdibiError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("odibi_core.") and not sub.__name__.startswith("_"):
                found.add(sub.__name__)
                todo.append(sub)
    drawn = errors.__doc__ or ""
    assert sorted(n for n in found if f" {n} " not in drawn) == [], "draw them in odibi_core/errors.py"


def test_the_parallel_lessons_cache_manager_import_path_works() -> None:
    from odibi_core.cache import CacheManager as Real
    from odibi_core.core.cache_manager import CacheManager

    assert CacheManager is Real
