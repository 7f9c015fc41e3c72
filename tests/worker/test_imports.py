"""The import cycle between `grants` and `worker` is gone: nothing in grants imports the worker
(neither the old `worker` package nor the `grants.worker` entry point), `worker/` is only a shim
over grants, and every task a service queues by name is registered in the app's Celery."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
GRANTS = ROOT / "grants"


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, at any depth (inside functions too)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]  # `from . import worker`
    return found


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_import_reader_resolves_relative_imports(tmp_path):
    sample = GRANTS / "calls" / "services.py"
    names = {name for _line, name in imports(sample)}
    assert "grants.core.tasks" in names and "grants.extensions" in names  # `from ..core.tasks import …`


def test_nothing_in_grants_imports_the_worker():
    offending = []
    for path in modules(GRANTS):
        if path == GRANTS / "worker.py":
            continue
        for line, name in imports(path):
            top = name.split(".")[0]
            if top == "worker" or name == "grants.worker" or name.startswith("grants.worker."):
                offending.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert len(modules(GRANTS)) > 100  # the walk really saw the package
    assert offending == []


def test_the_worker_package_only_reexports_grants():
    files = modules(ROOT / "worker")
    assert {p.name for p in files} <= {"__init__.py", "app.py", "tasks.py"}
    outside = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in files
        for line, name in imports(path)
        if name.split(".")[0] not in ("grants", "__future__")
    ]
    assert outside == []


def _queued_names() -> set[str]:
    """Every task name passed as a literal to enqueue / enqueue_after_commit in grants."""
    names = set()
    for path in modules(GRANTS):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
                "enqueue",
                "enqueue_after_commit",
            ):
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
    return names


def test_every_task_queued_by_name_is_registered(make_app, tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/unused.sqlite3")
    registered = set(app.extensions["celery"].tasks)
    queued = _queued_names()
    assert {"grants.send_notification", "grants.announce_call", "grants.issue_letters"} <= queued
    assert queued <= registered
    scheduled = {entry["task"] for entry in app.extensions["celery"].conf.beat_schedule.values()}
    assert scheduled <= registered
