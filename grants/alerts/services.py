"""Scanning, sending (with retries and bounces) and resending notifications."""

from __future__ import annotations

import smtplib
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from .. import mail
from ..calls import rules as call_rules
from ..calls.models import Call
from ..core import clock
from ..core.db import lock, on_commit, transactional
from ..extensions import db
from ..subscriptions.models import Subscription
from . import kinds, lifecycle  # noqa: F401  (kinds: registers the alert kinds)
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


@transactional
def run_scan(now: datetime | None = None, *, dry_run: bool = False):
    """The due-alert scan (beat every 15 minutes; `flask alerts scan --at`). The claims are sent
    once they are committed, so a worker never looks for a row that is not there yet."""
    result = scan(now or clock.now(), dry_run=dry_run)
    if not dry_run and result.claimed:
        claimed = list(result.claimed)
        on_commit(lambda: _queue(claimed))
    return result


def sweep(now: datetime | None = None) -> list[int]:
    """Send again what was claimed but never sent (a crashed worker, a lost task). It writes
    nothing, so the sends are queued at once."""
    ids = stale(now or clock.now())
    _queue(ids)
    return ids


@transactional
def announce_call(call_id: int) -> int:
    """Claim the announcement of a newly published call for each matching subscriber, once;
    the claims are sent after they are committed."""
    from ..subscriptions.services import matching_query

    call = db.session.get(Call, call_id)
    if call is None or not call_rules.can_see(None, call):
        return 0
    query = matching_query(call).with_only_columns(Subscription.email, Subscription.language)
    recipients = dict(db.session.execute(query).all())
    ids = claim("announcement", object_type="call", object_id=call.id, offset_days=0, due_at=None,
                recipients=recipients, now=clock.now())  # fmt: skip
    if ids:
        on_commit(lambda: _queue(ids))
    return len(ids)


def _permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def send(note_id: int) -> str:
    """Deliver one claimed notification. Returns its final (or current) status.

    Unlike every other unit of work this one commits twice, on purpose: `sending` (with the
    attempt counted) is committed *before* the SMTP conversation and `sent` right after it. An
    email cannot be rolled back, so the database must already say an attempt was made if the
    worker dies mid-send (the sweep then retries it, and the attempt cap holds), and must say
    `sent` as soon as the relay accepted it, so that no later failure in the task undoes it."""
    query = select(Notification).where(Notification.id == note_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    note = db.session.execute(query).scalar_one_or_none()
    if note is None or lifecycle.is_final(note):
        db.session.rollback()  # releases nothing but our snapshot: a duplicate task does nothing
        return note.status if note else "missing"
    message = KINDS[note.kind].render(note)
    if message is None:
        lifecycle.transition(note, "skip", error="no longer applies")
        db.session.commit()  # see the docstring: the state of a send is committed step by step
        return note.status
    lifecycle.transition(note, "attempt")
    db.session.commit()  # `sending` is durable before the email leaves
    try:
        mail.deliver(message | {"message_id": f"<notification-{note.id}@grants.local>"})
    except (smtplib.SMTPException, OSError) as error:
        text = f"{type(error).__name__}: {error}"[:2000]
        if _permanent(error):
            lifecycle.transition(note, "bounced", error=text)
        elif note.attempts >= MAX_ATTEMPTS:
            lifecycle.transition(note, "failed", error=text)
        else:
            countdown = backoff(note.attempts)
            lifecycle.transition(note, "retry", error=text, countdown=countdown)
            db.session.commit()
            raise RetryLater(countdown, text) from error
        db.session.commit()
        return note.status
    lifecycle.transition(note, "delivered")
    db.session.commit()  # `sent` is durable as soon as the relay accepted the message
    return note.status


@transactional
def resend(actor, note: Notification) -> None:
    """An admin sends one again (e.g. after fixing the SMTP relay); audited, sent after the commit."""
    from ..audit.services import record

    lock(note)
    before = note.status
    lifecycle.transition(note, "resend", actor)
    record(actor, "notification.resent", "notification", note.id, before={"status": before})
    note_id = note.id
    on_commit(lambda: _queue([note_id]))
