"""The import graph points one way (DESIGN.md: wrappers → cli → flows → pure modules).

Read with ``ast`` from the sources (lazy imports inside functions count: they are
dependencies too; ``if TYPE_CHECKING:`` blocks do not, they never run). Three rules:

- no cycle between packages (``mlpipex.report`` ↔ ``mlpipex.providers`` was one);
- the core never imports the App (``mlpipex.app`` is an optional extra on top);
- no private module (``mlpipex.oci._package``) or private name (``_source``) is
  imported from outside its own package: a package's surface is its ``__init__``
  and its public modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"mlpipex": ROOT / "core", "mlpipex.app": ROOT / "app"}


def modules() -> Iterator[tuple[str, Path]]:
    for prefix, folder in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([prefix, *parts]), path


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node outside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports(name: str, path: Path) -> Iterator[tuple[str, str | None, int]]:
    """(module imported, name imported from it or None, line) for each mlpipex import."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mlpipex"):
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("mlpipex"):
                for alias in node.names:
                    yield target, alias.name, node.lineno


def package_of(module: str) -> str:
    """The unit the rules speak of: ``mlpipex.app`` for the App, ``mlpipex.X`` for a core
    package or top-level module, ``mlpipex`` for the root ``__init__``."""
    parts = module.split(".")
    if parts[:2] == ["mlpipex", "app"]:
        return "mlpipex.app"
    return ".".join(parts[:2])


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def edges() -> list[tuple[str, str, str, int, str | None]]:
    """(importer, imported module, file, line, name) for every mlpipex import."""
    found = []
    known = {name for name, _ in modules()}
    for name, path in modules():
        for target, imported, line in imports(name, path):
            module = target
            if imported is not None and f"{target}.{imported}" in known:
                module, imported = f"{target}.{imported}", None  # `from pkg import submodule`
            found.append((name, module, str(path.relative_to(ROOT)), line, imported))
    return found


def package_cycles() -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for importer, module, *_ in edges():
        a, b = package_of(importer), package_of(module)
        if a != b:
            graph.setdefault(a, set()).add(b)
    # Tarjan's strongly connected components: every one with two or more packages is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def explain_cycle(component: list[str]) -> list[str]:
    members = set(component)
    return sorted({f"{file}:{line} {importer} -> {module}" for importer, module, file, line, _ in edges()
                   if package_of(importer) in members and package_of(module) in members
                   and package_of(importer) != package_of(module)})  # fmt: skip


def test_no_cycle_between_packages() -> None:
    cycles = package_cycles()
    assert not cycles, "\n".join(f"cycle {' <-> '.join(c)}:\n  " + "\n  ".join(explain_cycle(c)) for c in cycles)


def test_the_core_never_imports_the_app() -> None:
    wrong = [f"{file}:{line} {importer} -> {module}" for importer, module, file, line, _ in edges()
             if package_of(importer) != "mlpipex.app" and package_of(module) == "mlpipex.app"]  # fmt: skip
    assert not wrong, "\n".join(wrong)


def test_no_private_module_or_name_is_imported_from_another_package() -> None:
    wrong = []
    for importer, module, file, line, name in edges():
        if package_of(importer) == package_of(module):
            continue
        private_module = any(_private(part) for part in module.split("."))
        private_name = name is not None and _private(name)
        if private_module or private_name:
            wrong.append(f"{file}:{line} {importer} imports {module}" + (f".{name}" if name else ""))
    assert not wrong, "\n".join(wrong)


def test_the_walker_sees_what_it_must() -> None:
    """The rules above are only as good as the walk: it finds lazy and relative imports."""
    found = {(importer, module) for importer, module, *_ in edges()}
    assert ("mlpipex.cli", "mlpipex.commands") in found
    assert any(importer.startswith("mlpipex.commands.") and module.startswith("mlpipex.kserve") for importer, module in found)
    assert package_of("mlpipex.app.chatops.parser") == "mlpipex.app" and package_of("mlpipex.oci._package") == "mlpipex.oci"
