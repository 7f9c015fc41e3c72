"""`grants`, the operator's command: every `flask --app grants` command under the same name, and
serve/worker/beat starting gunicorn and Celery with the package's settings (the exec is caught here;
the wheel test runs `grants db upgrade` and `grants serve` for real)."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from grants import console


@pytest.fixture
def operator_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GRANTS_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("GRANTS_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    for name in ("GRANTS_BIND", "PORT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def executed(monkeypatch):
    """The command line a subcommand would exec (the test process stays)."""
    calls = []
    monkeypatch.setattr(console.os, "execv", lambda path, argv: calls.append(argv))
    return calls


def test_every_flask_command_is_a_grants_command(operator_env):
    from grants import create_app

    flask_commands = set(create_app().cli.commands)
    result = CliRunner().invoke(console.cli, ["--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert {"db", "users", "alerts", "serve", "worker", "beat"} <= listed
    assert flask_commands <= listed


def test_serve_runs_gunicorn_with_the_deployment_settings(operator_env, executed):
    result = CliRunner().invoke(console.cli, ["serve", "--workers", "3"])
    assert result.exit_code == 0, result.output
    (argv,) = executed
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
    assert argv[-3:] == ["--workers", "3", "grants:create_app()"]  # the operator's options win
    assert "python:grants.ops.gunicorn_conf" in argv or "gthread" in argv


def test_serve_without_the_settings_file_uses_gthread_with_timeouts(operator_env, executed, monkeypatch):
    real_find_spec = console.importlib.util.find_spec
    monkeypatch.setattr(
        console.importlib.util,
        "find_spec",
        lambda name: None if name == console.GUNICORN_CONF else real_find_spec(name),
    )
    monkeypatch.setenv("PORT", "8123")
    CliRunner().invoke(console.cli, ["serve"])
    (argv,) = executed
    options = dict(zip(argv[3:-1:2], argv[4:-1:2], strict=True))
    assert options["--worker-class"] == "gthread" and int(options["--timeout"]) > 0
    assert options["--bind"] == "127.0.0.1:8123"


@pytest.mark.parametrize("process", ["worker", "beat"])
def test_worker_and_beat_run_celery_on_the_packaged_app(operator_env, executed, process):
    result = CliRunner().invoke(console.cli, [process, "--loglevel", "INFO"])
    assert result.exit_code == 0, result.output
    assert executed == [[sys.executable, "-m", "celery", "-A", "grants.worker", process, "--loglevel", "INFO"]]
