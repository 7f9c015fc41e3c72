"""Claiming and sending notifications exactly once; the call announcement."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from .. import mail
from ..calls import lifecycle
from ..calls.models import Call
from ..core import clock
from ..core.urls import external_url
from ..extensions import db
from .models import Notification, notification_key


def claim(kind: str, object_type: str, object_id: int, offset_days: int, recipients: dict[str, str]) -> set[str]:
    """Insert one row per recipient (email → language) unless its key exists; return the
    recipients this caller claimed. Concurrent callers each get a disjoint set."""
    if not recipients:
        return set()
    rows = [
        {"key": notification_key(kind, object_type, object_id, offset_days, email), "kind": kind,
         "object_type": object_type, "object_id": object_id, "offset_days": offset_days, "recipient": email,
         "language": language, "status": "claimed", "attempts": 0, "claimed_at": clock.now()}
        for email, language in recipients.items()
    ]  # fmt: skip
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Notification)
    statement = insert.values(rows).on_conflict_do_nothing(index_elements=["key"]).returning(Notification.recipient)
    return set(db.session.execute(statement).scalars())


def _mark(kind: str, object_type: str, object_id: int, offset_days: int, email: str, *, error: str | None) -> None:
    note = db.session.execute(
        select(Notification).filter_by(key=notification_key(kind, object_type, object_id, offset_days, email))
    ).scalar_one()
    note.attempts += 1
    if error is None:
        note.status, note.sent_at, note.error = "sent", clock.now(), None
    else:
        note.status, note.error = "failed", error[:2000]


def announce_call(call_id: int) -> int:
    """Tell every matching confirmed subscriber about a newly published call, once each.
    Returns how many emails this run sent."""
    from ..subscriptions.services import matching_query, unsubscribe_headers, unsubscribe_url

    call = db.session.get(Call, call_id)
    if call is None or not lifecycle.is_public(call):
        return 0
    subscribers = list(db.session.execute(matching_query(call)).scalars())
    claimed = claim("announcement", "call", call.id, 0, {s.email: s.language for s in subscribers})
    db.session.commit()
    link = external_url("calls.show", call_id=call.id)
    sent = 0
    for sub in subscribers:
        if sub.email not in claimed:
            continue
        message = mail.render("call_announcement", sub.language, call=call, link=link, unsubscribe=unsubscribe_url(sub))
        try:
            mail.deliver(message | {"to": sub.email, "headers": unsubscribe_headers(sub)})
        except Exception as error:  # noqa: BLE001 — recorded as failed for the admins, never lost silently
            _mark("announcement", "call", call.id, 0, sub.email, error=repr(error))
        else:
            _mark("announcement", "call", call.id, 0, sub.email, error=None)
            sent += 1
        db.session.commit()
    return sent
