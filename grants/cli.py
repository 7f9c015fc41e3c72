"""`flask --app grants ...` commands: users create, seed-demo."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .accounts.models import Role

users = AppGroup("users", help="Manage user accounts.")


@users.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", default="")
@click.option("--role", "roles", multiple=True, type=click.Choice([r.value for r in Role]), default=["applicant"])
@click.option("--locale", type=click.Choice(["kk", "ru", "en"]), default="ru")
@click.option("--verified", is_flag=True, help="Mark the email address as already confirmed.")
def create_user(email, password, name, roles, locale, verified):
    """Create an account (for set-up, tests and demos)."""
    from .accounts import services
    from .core.errors import ServiceError

    try:
        user = services.create_user(
            email=email, password=password, name=name, roles=set(roles), verified=verified, locale=locale
        )
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"created user {user.id} <{user.email}> roles={','.join(sorted(user.roles))}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed when there are no users yet.")
def seed_demo(if_empty):
    """Fill the database with demo accounts and organizations."""
    from .demo import seed

    created = seed(only_if_empty=if_empty)
    if created is None:
        click.echo("demo data: database already has users, nothing seeded")
        return
    click.echo(f"demo data seeded; log in at {current_app.config['BASE_URL']}/login with:")
    for email, password, role in created:
        click.echo(f"  {role:<10} {email:<28} {password}")


alerts = AppGroup("alerts", help="Deadline alerts and notifications.")


@alerts.command("scan")
@click.option(
    "--at", "at", default=None, help="The instant to scan for (ISO 8601, default now); how tests travel in time."
)
@click.option("--dry-run", is_flag=True, help="Only print what is due; claim and send nothing.")
def alerts_scan(at, dry_run):
    """Find what is due and queue it (Celery beat runs the same scan every 15 minutes)."""
    from datetime import UTC, datetime

    from .alerts.services import run_scan

    try:
        moment = datetime.fromisoformat(at) if at else None
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2027-03-01T09:00+05:00", param_hint="--at") from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    result = run_scan(moment, dry_run=dry_run)
    for line in result.lines:
        click.echo(line)
    verb = "due" if dry_run else "queued"
    click.echo(f"{len(result.lines)} {verb}, {result.skipped} older missed alerts marked skipped")


@alerts.command("sweep")
def alerts_sweep():
    """Send again claims that were never sent (after a crash)."""
    from .alerts.services import sweep

    click.echo(f"{len(sweep())} re-queued")


retention = AppGroup("retention", help="Personal data retention.")


@retention.command("run")
@click.option("--at", "at", default=None, help="The instant to judge from (ISO 8601, default now).")
@click.option("--years", type=click.IntRange(min=1), default=None, help="Override RETENTION_YEARS.")
@click.option("--dry-run", is_flag=True, help="Only list who would be anonymised; change nothing.")
def retention_run(at, years, dry_run):
    """Anonymise the people of unfunded applications RETENTION_YEARS after their call's decision
    (Celery beat runs the same job every night)."""
    from datetime import UTC, datetime

    from .accounts.personal_data import run_retention

    try:
        moment = datetime.fromisoformat(at) if at else None
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2032-03-01T09:00+05:00", param_hint="--at") from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    result = run_retention(moment, dry_run=dry_run, years=years)
    for line in result.lines:
        click.echo(line)
    verb = "would be anonymised" if dry_run else "anonymised"
    click.echo(f"{len(result.people)} people {verb} (decided before {result.cutoff.date().isoformat()})")


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup_command(directory):
    """Write the database dump, every stored file and a manifest of SHA-256s into DIRECTORY (new or empty)."""
    from .ops.backup import BackupError, backup

    try:
        manifest = backup(current_app._get_current_object(), directory)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    size = sum(f["size"] for f in manifest["files"].values())
    click.echo(f"backup written to {directory}: database ({manifest['database']['kind']}, migration "
               f"{manifest['migration']['database']}), {manifest['storage']['objects']} stored files, "
               f"{size} bytes; manifest.json lists the SHA-256 of each")  # fmt: skip


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_command(directory):
    """Restore a backup made by `backup` into an empty database and an empty storage (after checking
    every file against the manifest)."""
    from .ops.backup import BackupError, code_head, restore

    try:
        manifest = restore(current_app._get_current_object(), directory)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored the backup of {manifest['created_at']} (app {manifest['app_version']}): database at "
               f"migration {manifest['migration']['database']}, {manifest['storage']['objects']} stored files")  # fmt: skip
    if manifest["migration"]["database"] != code_head(current_app._get_current_object()):
        click.echo("the backup's schema is older than this version's: run `grants db upgrade` before serving")


storage_group = AppGroup("storage", help="Stored files (uploads, evidence, letters).")


@storage_group.command("orphans")
@click.option("--delete", is_flag=True, help="Delete them (default: only list them).")
@click.option("--older-than-hours", type=click.IntRange(min=1), default=24, show_default=True,
              help="Only files at least this old (a request may be writing a newer one right now).")  # fmt: skip
def storage_orphans(delete, older_than_hours):
    """List (or delete) stored files that no row names, such as a letter whose worker was killed."""
    from datetime import timedelta

    from .ops.orphans import collect

    result = collect(delete=delete, grace=timedelta(hours=older_than_hours))
    for key in result.found:
        click.echo(f"{'deleted' if delete else 'orphan'} {key}")
    click.echo(f"{len(result.found)} orphan(s){', deleted' if delete else ''}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(storage_group)
    app.cli.add_command(users)
    app.cli.add_command(retention)
    app.cli.add_command(alerts)
    app.cli.add_command(seed_demo)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
