"""The Celery tasks: thin, named, they take ids and plain data and call grants services. Services
queue them by name (`grants.core.tasks.enqueue("grants.send_notification", note_id)`).

Every task may run twice: a worker killed mid-task has its message delivered again once the
broker's visibility timeout passes (acks_late), so each one is idempotent — a notification is
sent through its claim (a final or in-flight row is left alone), a letter is issued only for an
award that has none (the award row is locked), scans and announcements claim by unique key."""

from __future__ import annotations

import smtplib
from datetime import datetime

from celery import shared_task


@shared_task(name="grants.send_email")
def send_email(message: dict) -> None:
    """One rendered email, sent as it is. Messages are now logged and sent as notifications
    (`grants.mail.queue`); this task stays for messages queued before that, and for checks. A relay
    that is down or refuses hands the message to the outbox, whose claim retries it (no broker
    countdown longer than the visibility timeout, which would deliver the task twice)."""
    from grants.mail import deliver

    try:
        deliver(message)
    except (smtplib.SMTPException, OSError):
        _to_outbox(message)


@shared_task(name="grants.send_notification", bind=True, max_retries=None)
def send_notification(self, note_id: int) -> str:
    """One claimed notification, on its channel (email, Telegram, SMS); temporary failures (SMTP
    4xx, Telegram 429/5xx, SMS gateway 429/5xx, network) retry with exponential backoff and jitter,
    never sooner than Telegram's retry_after or the gateway's Retry-After (the row keeps the count
    and gives up as "failed" after MAX_ATTEMPTS). A wait longer than half the broker's visibility
    timeout is left to the sweep (the row says when it is due): a message held that long by a
    worker would be delivered again to another one."""
    import random

    from flask import current_app

    from grants.alerts.services import RetryLater, send

    try:
        return send(note_id)
    except RetryLater as later:
        if self.request.is_eager:  # inline (tests, one-process demo): the sweep retries it later
            return "claimed"
        countdown = later.countdown * (0.8 + 0.4 * random.random())
        if countdown > current_app.config["BROKER_VISIBILITY_TIMEOUT"] / 2:
            return "claimed"
        raise self.retry(countdown=countdown, exc=later) from later


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
    """Queue one `grants.issue_letter` task per award of the call that has no letter yet (after this
    task's commit); returns how many. Each letter is then a task of its own, committed once: the
    manager sees the progress letter by letter, and a worker killed mid-way loses only the letter it
    was rendering, which the broker hands to another worker."""
    from grants.awards import services
    from grants.calls.models import Call
    from grants.core.tasks import enqueue_after_commit
    from grants.extensions import db

    pending = [award.id for award in services.awards_of_call(db.session.get(Call, call_id)) if award.letter is None]
    for award_id in pending:
        enqueue_after_commit("grants.issue_letter", award_id, actor_id)
    return len(pending)


@shared_task(name="grants.issue_letter")
def issue_letter(award_id: int, actor_id: int) -> bool:
    """Issue one award's letter unless it has one: the award is locked and its version compared, so
    a second job (a double click, a redelivered message) issues nothing twice."""
    from grants.accounts.models import User
    from grants.awards import issuing
    from grants.awards.models import Award
    from grants.extensions import db

    award = db.session.get(Award, award_id)
    if award is None or award.letter is not None:
        return False
    return issuing.issue_letter(db.session.get(User, actor_id), award, seen_version=0) is not None


@shared_task(name="grants.send_letter_email")
def send_letter_email(message: dict) -> None:
    """An award letter email queued before letters were logged as notifications (issue 13): the
    PDF travels base64-encoded, decoded here. New letters go through `grants.mail.queue`. A relay
    that refuses hands it to the outbox, as `send_email` does."""
    import base64

    from grants.mail import deliver

    attachments = [
        {"filename": a["filename"], "content_type": a["content_type"], "data": base64.b64decode(a["data_base64"])}
        for a in message.get("attachments", [])
    ]
    try:
        deliver(message | {"attachments": attachments})
    except (smtplib.SMTPException, OSError):
        _to_outbox(message)


def _to_outbox(message: dict) -> None:
    """Log a message that could not be sent now as a notification; the task's commit queues it,
    and its claim retries it until the relay accepts (or refuses for good)."""
    from grants.mail import queue

    queue(message, kind=message.get("kind") or "email", about=("message", 0), language=message.get("language") or "")


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


@shared_task(name="grants.storage_orphans")
def storage_orphans() -> int:
    """Delete stored files no row names, a day old or more (see grants.ops.orphans)."""
    from grants.ops.orphans import collect

    return len(collect(delete=True).deleted)
