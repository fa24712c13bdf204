"""The adapters are a layer of their own: ``channels`` never imports ``scheduler``.

A network adapter (built in or third-party) gets its account, secrets and variant as data;
if it reached into the scheduler, the scheduler's internals would become the adapters' API
and a third-party network could not be written against ``channels`` alone.
"""

from __future__ import annotations

import ast
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
