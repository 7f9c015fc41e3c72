"""Scanning, sending (with retries and bounces) and resending notifications."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from .. import mail
from ..calls import lifecycle
from ..calls.models import Call
from ..core import clock
from ..extensions import db
from ..subscriptions.models import Subscription
from . import kinds  # noqa: F401  (registers the alert kinds)
from .models import Notification
from .registry import KINDS, claim, scan, stale

MAX_ATTEMPTS = 8


class RetryLater(Exception):
    """A temporary delivery failure; the task retries after `countdown` seconds."""

    def __init__(self, countdown: int, error: str):
        super().__init__(error)
        self.countdown = countdown


def backoff(attempt: int) -> int:
    base = int(current_app.config.get("ALERT_RETRY_BASE_SECONDS", 30))
    return min(base * 2 ** max(attempt - 1, 0), 3600)


def _queue(ids: list[int]) -> None:
    from worker.tasks import send_notification

    for note_id in ids:
        send_notification.delay(note_id)


def run_scan(now: datetime | None = None, *, dry_run: bool = False):
    """The due-alert scan (beat every 15 minutes; `flask alerts scan --at`)."""
    result = scan(now or clock.now(), dry_run=dry_run)
    if not dry_run:
        _queue(result.claimed)
    return result


def sweep(now: datetime | None = None) -> list[int]:
    """Send again what was claimed but never sent (a crashed worker, a lost task)."""
    ids = stale(now or clock.now())
    _queue(ids)
    return ids


def announce_call(call_id: int) -> int:
    """Claim the announcement of a newly published call for each matching subscriber, once."""
    from ..subscriptions.services import matching_query

    call = db.session.get(Call, call_id)
    if call is None or not lifecycle.is_public(call):
        return 0
    query = matching_query(call).with_only_columns(Subscription.email, Subscription.language)
    recipients = dict(db.session.execute(query).all())
    ids = claim("announcement", object_type="call", object_id=call.id, offset_days=0, due_at=None,
                recipients=recipients, now=clock.now())  # fmt: skip
    db.session.commit()
    _queue(ids)
    return len(ids)


def _permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def send(note_id: int) -> str:
    """Deliver one claimed notification. Returns its final (or current) status."""
    query = select(Notification).where(Notification.id == note_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    note = db.session.execute(query).scalar_one_or_none()
    if note is None or note.status in ("sent", "skipped", "bounced", "failed"):
        db.session.rollback()
        return note.status if note else "missing"
    message = KINDS[note.kind].render(note)
    now = clock.now()
    if message is None:
        note.status, note.error = "skipped", "no longer applies"
        db.session.commit()
        return note.status
    note.status, note.attempts, note.attempted_at = "sending", note.attempts + 1, now
    db.session.commit()
    try:
        mail.deliver(message | {"message_id": f"<notification-{note.id}@grants.local>"})
    except (smtplib.SMTPException, OSError) as error:
        note.error = f"{type(error).__name__}: {error}"[:2000]
        if _permanent(error):
            note.status = "bounced"
        elif note.attempts >= MAX_ATTEMPTS:
            note.status = "failed"
        else:
            countdown = backoff(note.attempts)
            note.status, note.next_attempt_at = "claimed", now + timedelta(seconds=countdown)
            db.session.commit()
            raise RetryLater(countdown, note.error) from error
        db.session.commit()
        return note.status
    note.status, note.sent_at, note.error = "sent", clock.now(), None
    db.session.commit()
    return note.status


def resend(actor, note: Notification) -> None:
    """An admin sends one again (e.g. after fixing the SMTP relay); audited."""
    from ..audit.services import record

    record(actor, "notification.resent", "notification", note.id, before={"status": note.status})
    note.status, note.attempts, note.error, note.next_attempt_at = "claimed", 0, None, None
    db.session.commit()
    _queue([note.id])
