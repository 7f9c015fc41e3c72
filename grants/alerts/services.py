"""Scanning, sending (by email, Telegram or SMS, with retries and bounces) and resending notifications."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import load_only

from .. import mail
from ..calls import rules as call_rules
from ..calls.models import Call
from ..channels import sms, telegram
from ..core import clock
from ..core.db import lock, on_commit, transactional
from ..extensions import db
from ..subscriptions.models import Subscription
from . import digest, kinds, lifecycle  # noqa: F401  (digest, kinds: register the alert kinds)
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
    from ..core.tasks import enqueue

    for note_id in ids:
        enqueue("grants.send_notification", note_id)


@transactional
def run_scan(now: datetime | None = None, *, dry_run: bool = False):
    """The due-alert scan (beat every 15 minutes; `flask alerts scan --at`). The claims are sent
    once they are committed, so a worker never looks for a row that is not there yet."""
    result = scan(now or clock.now(), dry_run=dry_run)
    if not dry_run and result.claimed:
        claimed = list(result.claimed)
        on_commit(lambda: _queue(claimed))
    return result


def stuck_after() -> timedelta:
    """How long a claim may wait, or a send may take, before it counts as lost (its worker died):
    the broker's visibility timeout, after which a killed worker's task is delivered again anyway
    (grants.celery_app; the sweep runs at half that period), and at least a minute."""
    return timedelta(seconds=max(60, int(current_app.config.get("BROKER_VISIBILITY_TIMEOUT", 300))))


def sweep(now: datetime | None = None) -> list[int]:
    """Send again what was claimed but never sent (a crashed worker, a lost task), and claim the
    announcement of a call whose announcing task was lost. Stale claims are queued at once; new
    announcement claims after the commit."""
    now = now or clock.now()
    for call_id in unannounced_calls(now):
        announce_call(call_id)
    ids = stale(now, claimed_after=stuck_after(), sending_after=stuck_after())
    _queue(ids)
    return ids


ANNOUNCE_WITHIN = timedelta(days=7)


def unannounced_calls(now: datetime) -> list[int]:
    """Calls published in the last week whose announcement was never claimed: the task queued at
    publication was lost (the broker was down at that moment). The sweep claims it then; claims
    are once per call and subscriber, so a late task changes nothing."""
    announced = select(Notification.id).where(Notification.kind == "announcement", Notification.object_type == "call",
                                              Notification.object_id == Call.id)  # fmt: skip
    query = select(Call.id).where(Call.published_at.is_not(None), Call.published_at <= now,
                                  Call.published_at > now - ANNOUNCE_WITHIN, ~announced.exists())  # fmt: skip
    return list(db.session.execute(query.order_by(Call.id)).scalars())


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


def short_texts(note: Notification) -> tuple[str, str] | None:
    """(Telegram text, SMS text) of a notification, or None when it no longer applies. The SMS is
    kept to two parts: its link is left out when it would not fit, and a text too long is cut."""
    kind = KINDS[note.kind]
    short = kind.short(note) if kind.short else None
    if short is None:
        return None
    text, link = short["text"], short.get("link") or ""
    with_link = f"{text} {link}".strip()
    sms_text = with_link if sms.count_parts(with_link).parts <= sms.MAX_ALERT_PARTS else sms.fit(text)
    return f"{text}\n{link}".strip(), sms_text


def _account_disabled(email: str) -> bool:
    from ..accounts.models import User

    query = select(User.id).where(func.lower(User.email) == email.lower(), User.disabled_at.is_not(None))
    return db.session.execute(query).first() is not None


def _prepare(note: Notification):
    """The delivery of the note on its channel (a function to call), or the reason (a string) it
    no longer applies. The person's current choices decide: a channel turned off or unlinked
    between the claim and the send is skipped."""
    from ..channels.services import delivery_channels

    if note.payload is not None:  # a message rendered when its event happened: sent as it was logged
        return lambda: mail.deliver_logged(note.payload, f"<notification-{note.id}@grants.local>")
    if _account_disabled(note.recipient):  # disabled after the alert was claimed: it stops too
        return "the account is disabled"
    person = delivery_channels(note.kind, [note.recipient]).get(note.recipient.lower())
    if note.channel == "email":
        if person is not None and "email" not in person["channels"]:
            return "email no longer chosen for this alert"
        message = KINDS[note.kind].render(note)
        if message is None:
            return "no longer applies"
        return lambda: mail.deliver(message | {"message_id": f"<notification-{note.id}@grants.local>"})
    client = telegram if note.channel == "telegram" else sms
    if not client.configured():
        return f"{note.channel} is not configured on this site"
    address = person["address"].get(note.channel) if person and note.channel in person["channels"] else None
    if address is None:
        return f"{note.channel} no longer chosen or linked"
    texts = short_texts(note)
    if texts is None:
        return "no longer applies"
    note.address = address
    if note.channel == "telegram":
        return lambda: telegram.send_message(int(address), texts[0])
    note.segments = sms.count_parts(texts[1]).parts
    return lambda: sms.send(address, texts[1])


def send(note_id: int) -> str:
    """Deliver one claimed notification on its channel (email, Telegram, SMS). Returns its final
    (or current) status.

    Unlike every other unit of work this one commits twice, on purpose: `sending` (with the
    attempt counted) is committed *before* the conversation with the relay, bot API or gateway,
    and `sent` right after it. A message cannot be rolled back, so the database must already say an
    attempt was made if the worker dies mid-send (the sweep then retries it, and the attempt cap
    holds), and must say `sent` as soon as it was accepted, so that no later failure undoes it.
    Temporary failures (SMTP 4xx, Telegram 429 with retry_after or 5xx, gateway 429/5xx, network)
    retry with backoff until MAX_ATTEMPTS, then `failed`; a refusal that will not change is final:
    `bounced` (SMTP 5xx for the address, a bot blocked by the person — the chat is then unlinked)
    or `failed` (any other 4xx)."""
    # populate_existing: what is committed now, not a copy this session loaded before the lock
    query = select(Notification).where(Notification.id == note_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    note = db.session.execute(query).scalar_one_or_none()
    if note is None or lifecycle.is_final(note):
        db.session.rollback()  # releases nothing but our snapshot: a duplicate task does nothing
        return note.status if note else "missing"
    if note.status == lifecycle.Status.SENDING and (note.attempted_at or clock.now()) > clock.now() - stuck_after():
        db.session.rollback()  # another worker is talking to the relay now: a second copy would send it twice
        return note.status
    deliver = _prepare(note)
    if isinstance(deliver, str):
        lifecycle.transition(note, "skip", error=deliver)
        db.session.commit()  # see the docstring: the state of a send is committed step by step
        return note.status
    lifecycle.transition(note, "attempt")
    db.session.commit()  # `sending` is durable before the message leaves
    outcome, wait = None, 0
    try:
        deliver()
    except (smtplib.SMTPException, OSError) as error:
        outcome, text = ("bounced" if _permanent(error) else "temporary"), f"{type(error).__name__}: {error}"
    except telegram.TelegramError as error:
        outcome, text = ("bounced" if error.blocked else "temporary" if error.temporary else "failed"), str(error)
        wait = error.retry_after or 0
    except sms.SmsError as error:
        outcome, text = ("temporary" if error.temporary else "failed"), str(error)
        wait = error.retry_after or 0
    if outcome is None:
        lifecycle.transition(note, "delivered")
        db.session.commit()  # `sent` is durable as soon as the message was accepted
        return note.status
    text = text[:2000]
    if outcome == "temporary" and note.attempts < MAX_ATTEMPTS:
        countdown = max(backoff(note.attempts), wait)
        lifecycle.transition(note, "retry", error=text, countdown=countdown)
        db.session.commit()
        raise RetryLater(countdown, text)
    lifecycle.transition(note, "bounced" if outcome == "bounced" else "failed", error=text)
    if outcome == "bounced" and note.channel == "telegram" and note.address:
        from ..channels.services import chat_blocked

        chat_blocked(int(note.address))  # no later alert is attempted there; the person's page says why
    db.session.commit()
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


def told(object_type: str, object_id: int, limit: int = 50) -> list[Notification]:
    """What we told people about one application or award (every channel), newest first: one
    query, shown on its page to the people who may read it."""
    return list(
        db.session.execute(
            select(Notification)
            .options(load_only(Notification.id, Notification.kind, Notification.recipient, Notification.channel,
                               Notification.status, Notification.subject, Notification.sent_at,
                               Notification.claimed_at))  # the list's columns, not each message's rendered text
            .where(Notification.object_type == object_type, Notification.object_id == object_id)
            .order_by(Notification.claimed_at.desc(), Notification.id.desc())
            .limit(limit)
        ).scalars()
    )
