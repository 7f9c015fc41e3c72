"""`flask --app grants ...` commands: users create, seed-demo."""

from __future__ import annotations

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


def register_cli(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(retention)
    app.cli.add_command(alerts)
    app.cli.add_command(seed_demo)
