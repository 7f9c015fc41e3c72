"""The notification's state machine, the one place where a notification's status changes.

    claimed → sending → sent | bounced | failed
       ↑         ↓ (temporary SMTP, Telegram or SMS gateway failure: retried later)
       └─────────┘
    claimed | sending → skipped (no longer applies: unsubscribed, deadline moved, …)
    sent | bounced | failed → claimed (an administrator sends it again)

Notifications are many (one per recipient and alert), so the machine records no audit event of
its own (an administrator's resend is audited by the service) and takes no row lock: `send`
already holds the row (SELECT … FOR UPDATE SKIP LOCKED) when it moves it."""

from __future__ import annotations

import enum
from datetime import timedelta

from flask_babel import lazy_gettext as _l

from ..core import clock
from ..core.lifecycle import Machine
from .models import Notification


class Status(enum.StrEnum):
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    BOUNCED = "bounced"
    FAILED = "failed"
    SKIPPED = "skipped"


# Named sets.
PENDING = frozenset({Status.CLAIMED, Status.SENDING})  # still to be delivered (the sweep's concern)
FINAL = frozenset({Status.SENT, Status.BOUNCED, Status.FAILED, Status.SKIPPED})  # a duplicate task does nothing
RESENDABLE = frozenset({Status.SENT, Status.BOUNCED, Status.FAILED})  # an administrator may send again

LABELS = {
    Status.CLAIMED: _l("waiting to be sent"),
    Status.SENDING: _l("being sent"),
    Status.SENT: _l("sent"),
    Status.BOUNCED: _l("rejected by the recipient's server"),
    Status.FAILED: _l("not sent: delivery failed"),
    Status.SKIPPED: _l("not sent: no longer applies"),
}

S = Status
# (from, event) -> to; events are named after what happens.
EDGES = {
    (S.CLAIMED, "attempt"): S.SENDING,
    (S.SENDING, "attempt"): S.SENDING,  # a worker died mid-send; the sweep tries again
    (S.SENDING, "delivered"): S.SENT,
    (S.SENDING, "bounced"): S.BOUNCED,
    (S.SENDING, "failed"): S.FAILED,
    (S.SENDING, "retry"): S.CLAIMED,
    (S.CLAIMED, "skip"): S.SKIPPED,
    (S.SENDING, "skip"): S.SKIPPED,
    (S.SENT, "resend"): S.CLAIMED,
    (S.BOUNCED, "resend"): S.CLAIMED,
    (S.FAILED, "resend"): S.CLAIMED,
}


def _after(note: Notification, event: str, actor, before, data: dict) -> None:
    """The columns that go with each step (attempt count, times, the last error)."""
    now = clock.now()
    if event == "attempt":
        note.attempts, note.attempted_at = note.attempts + 1, now
    elif event == "delivered":
        note.sent_at, note.error = now, None
    elif event in ("bounced", "failed", "retry", "skip"):
        note.error = data.get("error")
        if event == "retry":
            note.next_attempt_at = now + timedelta(seconds=data["countdown"])
    elif event == "resend":
        note.attempts, note.error, note.next_attempt_at = 0, None, None


machine = Machine(
    "notification", statuses=Status, edges=EDGES, labels=LABELS, after=_after, lock_rows=False, audit=False
)


# A sent or refused Telegram message or SMS reads as what happened on its channel.
CHANNEL_LABELS = {
    (Status.SENT, "email"): _l("email sent"),
    (Status.SENT, "telegram"): _l("sent to Telegram"),
    (Status.SENT, "sms"): _l("SMS sent"),
    (Status.BOUNCED, "telegram"): _l("not delivered: the person blocked the bot"),
    (Status.BOUNCED, "sms"): _l("rejected by the SMS gateway"),
}


def label(status_or_note) -> str:
    """The label of a status, or of a notification's status on its channel."""
    if isinstance(status_or_note, Notification):
        note = status_or_note
        special = CHANNEL_LABELS.get((note.status, note.channel))
        return str(special) if special is not None else machine.label(note.status)
    return machine.label(status_or_note)


def is_final(note: Notification) -> bool:
    return note.status in FINAL


def can(note: Notification, event: str) -> bool:
    return machine.can(note, event)


def transition(note: Notification, event: str, actor=None, **data) -> Status:
    """Move the notification along `event` (the caller holds the row); refused edges raise
    Conflict `invalid_transition`."""
    return machine.transition(note, event, actor, **data)
