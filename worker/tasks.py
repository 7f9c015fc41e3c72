"""Thin tasks: they take ids and plain data and call grants services."""

from __future__ import annotations

import smtplib
from datetime import datetime

from celery import shared_task
from celery.schedules import crontab

BEAT_SCHEDULE = {
    "alerts-scan": {"task": "grants.alerts_scan", "schedule": crontab(minute="*/15")},
    "alerts-sweep": {"task": "grants.alerts_sweep", "schedule": crontab(minute="7,37")},
    "retention-run": {"task": "grants.retention_run", "schedule": crontab(hour="2", minute="43")},
    "sessions-purge": {"task": "grants.sessions_purge", "schedule": crontab(minute="23")},
}


# A relay that is down or refuses for a while: retried with backoff for about four hours.
SMTP_RETRIES = {
    "autoretry_for": (smtplib.SMTPException, ConnectionError, TimeoutError),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(
    name="grants.send_email",
    **SMTP_RETRIES,
)
def send_email(message: dict) -> None:
    """One rendered email, sent as it is. Messages are now logged and sent as notifications
    (`grants.mail.queue`); this task stays for messages queued before that, and for checks."""
    from grants.mail import deliver

    deliver(message)


@shared_task(name="grants.send_notification", bind=True, max_retries=None)
def send_notification(self, note_id: int) -> str:
    """One claimed notification, on its channel (email, Telegram, SMS); temporary failures (SMTP
    4xx, Telegram 429/5xx, SMS gateway 429/5xx, network) retry with exponential backoff and jitter,
    never sooner than Telegram's retry_after or the gateway's Retry-After (the row keeps the count
    and gives up as "failed" after MAX_ATTEMPTS)."""
    import random

    from grants.alerts.services import RetryLater, send

    try:
        return send(note_id)
    except RetryLater as later:
        if self.request.is_eager:  # inline (tests, one-process demo): the sweep retries it later
            return "claimed"
        raise self.retry(countdown=later.countdown * (0.8 + 0.4 * random.random()), exc=later) from later


@shared_task(name="grants.alerts_scan")
def alerts_scan(at: str | None = None) -> int:
    from grants.alerts.services import run_scan

    return len(run_scan(datetime.fromisoformat(at) if at else None).claimed)


@shared_task(name="grants.alerts_sweep")
def alerts_sweep() -> int:
    from grants.alerts.services import sweep

    return len(sweep())


@shared_task(name="grants.announce_call")
def announce_call(call_id: int) -> int:
    from grants.alerts.services import announce_call as announce

    return announce(call_id)


@shared_task(name="grants.issue_letters")
def issue_letters(call_id: int, actor_id: int) -> int:
    """Issue the letter of every award of the call that has none (progress = letters so far).
    Each award is locked and skipped when a letter exists, so a second job (a double click, a
    redelivered message) issues nothing twice; outside a request each letter commits on its own."""
    from grants.accounts.models import User
    from grants.awards import issuing, services
    from grants.calls.models import Call
    from grants.extensions import db

    call, actor = db.session.get(Call, call_id), db.session.get(User, actor_id)
    issued = 0
    for award in services.awards_of_call(call):
        if award.letter is None and issuing.issue_letter(actor, award, seen_version=0) is not None:
            issued += 1
    return issued


@shared_task(
    name="grants.send_letter_email",
    **SMTP_RETRIES,
)
def send_letter_email(message: dict) -> None:
    """An award letter email queued before letters were logged as notifications (issue 13): the
    PDF travels base64-encoded, decoded here. New letters go through `grants.mail.queue`."""
    import base64

    from grants.mail import deliver

    attachments = [
        {"filename": a["filename"], "content_type": a["content_type"], "data": base64.b64decode(a["data_base64"])}
        for a in message.get("attachments", [])
    ]
    deliver(message | {"attachments": attachments})


@shared_task(name="grants.ping")
def ping(value: str) -> str:
    """A health check: the worker pushes the value to a Redis list (`<prefix>:ping`), where
    a monitor (or a test) can wait for it."""
    from flask import current_app

    url = current_app.config.get("REDIS_URL")
    if url:
        import redis

        key = f"{current_app.config['RATELIMIT_KEY_PREFIX']}:ping"
        client = redis.Redis.from_url(url)
        client.lpush(key, value)
        client.expire(key, 300)
    return value


@shared_task(name="grants.retention_run")
def retention_run() -> int:
    """Anonymise the people of unfunded applications past RETENTION_YEARS (see the CLI command)."""
    from grants.accounts.personal_data import run_retention

    return len(run_retention().people)


@shared_task(name="grants.sessions_purge")
def sessions_purge() -> int:
    """Delete sign-ins past their absolute end or idle too long (they are refused on use anyway)."""
    from grants.core.db import transactional
    from grants.security import purge_expired_sessions

    return transactional(purge_expired_sessions)()
