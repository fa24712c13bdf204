"""The layers: ``channels`` never imports ``scheduler``, and ``scheduler`` has no import circle.

A network adapter (built in or third-party) gets its account, secrets and variant as data;
if it reached into the scheduler, the scheduler's internals would become the adapters' API
and a third-party network could not be written against ``channels`` alone. Inside
``scheduler``, a circle (reading a release file once reached the queue to check a cron
expression) means no module can be understood, or imported, without all the others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, wherever the import stands (functions included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def test_channels_never_import_the_scheduler() -> None:
    offending = [f"{path.relative_to(ROOT)}:{line} imports {module}"
                 for path in sorted((ROOT / "channels").rglob("*.py"))
                 for line, module in imported_modules(path)
                 if module == "scheduler" or module.startswith("scheduler.")]
    assert offending == []


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from scheduler.errors import SiarError\n")
    assert imported_modules(sample) == [(2, "scheduler.errors")]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def scheduler_imports() -> dict[str, set[str]]:
    """Each ``scheduler`` module and the ``scheduler`` modules it imports, anywhere in it
    (an import inside a function still ties the two together), except under
    ``TYPE_CHECKING``."""
    files = {module_name(p): p for p in (ROOT / "scheduler").rglob("*.py")
             if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and ast.unparse(node.test).endswith("TYPE_CHECKING")
                       for n in ast.walk(node)}
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets.add(node.module)
                targets.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_scheduler_has_no_import_circle() -> None:
    assert circles(scheduler_imports()) == []


def test_a_circle_is_found_however_long(tmp_path: Path) -> None:
    def ring(names: Iterable[str]) -> dict[str, set[str]]:
        names = list(names)
        return {n: {names[(i + 1) % len(names)]} for i, n in enumerate(names)}

    assert circles(ring(["queue", "releases", "slots"])) == [["queue", "releases", "slots"]]
    assert circles({"a": {"b"}, "b": set()}) == []
