"""`grants`: the operator's command, installed with the package (no checkout needed).

Every `flask --app grants` command is here under the same name (`grants db upgrade`,
`grants users create`, `grants alerts scan`, `grants backup`, `grants restore`, ...), plus the
processes of a deployment:

    grants serve [GUNICORN OPTIONS]        the web app under gunicorn (grants/ops/gunicorn_conf.py)
    grants worker [CELERY WORKER OPTIONS]  a Celery worker (celery -A grants.worker worker)
    grants beat [CELERY BEAT OPTIONS]      the one scheduler of a deployment (celery -A grants.worker beat)

Settings come from the GRANTS_* environment variables (README "Production")."""

from __future__ import annotations

import importlib.util
import os
import sys

import click
from flask.cli import FlaskGroup

CELERY_APP = "grants.worker"
GUNICORN_CONF = "grants.ops.gunicorn_conf"
PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}

# Without grants/ops/gunicorn_conf.py: threads, so one slow client holds one thread, not a worker,
# and timeouts, so a stuck request is ended.
GUNICORN_DEFAULTS = [
    "--worker-class", "gthread", "--workers", "2", "--threads", "4",
    "--timeout", "60", "--graceful-timeout", "30", "--keep-alive", "5",
]  # fmt: skip


def _create_app():
    from . import create_app

    return create_app()


cli = FlaskGroup(
    name="grants",
    create_app=_create_app,
    add_version_option=False,
    help=__doc__.split("\n\n", 1)[0],
)


def gunicorn_command(args: tuple[str, ...] = ()) -> list[str]:
    """The gunicorn command line `grants serve` runs: the deployment's settings file when the
    package has one, sane gthread defaults otherwise; the caller's options last (they win)."""
    if importlib.util.find_spec("grants.ops") and importlib.util.find_spec(GUNICORN_CONF):
        settings = ["--config", f"python:{GUNICORN_CONF}"]  # it binds $GRANTS_BIND or 127.0.0.1:$PORT
    else:
        bind = os.environ.get("GRANTS_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
        settings = [*GUNICORN_DEFAULTS, "--bind", bind]
    return [sys.executable, "-m", "gunicorn", *settings, *args, "grants:create_app()"]


def _run(command: list[str]) -> None:
    click.echo("+ " + " ".join(command), err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # the process becomes the server: signals reach it directly


@cli.command("serve", context_settings=PASS_THROUGH, with_appcontext=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args):
    """Serve the web app with gunicorn (options after `serve` go to gunicorn; default bind
    $GRANTS_BIND or 127.0.0.1:$PORT, 8000)."""
    _run(gunicorn_command(args))


@cli.command("worker", context_settings=PASS_THROUGH, with_appcontext=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def worker(args):
    """Run a Celery worker (options after `worker` go to `celery worker`)."""
    _run([sys.executable, "-m", "celery", "-A", CELERY_APP, "worker", *args])


@cli.command("beat", context_settings=PASS_THROUGH, with_appcontext=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def beat(args):
    """Run Celery beat, the scheduler (exactly one per deployment; options go to `celery beat`)."""
    _run([sys.executable, "-m", "celery", "-A", CELERY_APP, "beat", *args])


def main() -> None:
    cli.main(prog_name="grants")


if __name__ == "__main__":
    main()
