"""The alert engine. Each kind of alert is a small registration saying what is due, who
receives it and how it reads; the scan, the exactly-once claim, catch-up after downtime,
sending with retries and the stale-claim sweep are shared.

Scan at instant `now`, for every object a kind reports as due (e.g. a published call and its
deadline with offsets 30, 14, 7, 3, 1 days):
  * the most urgent passed offset d* = the smallest offset whose alert time (deadline − d) has
    come, while the deadline itself has not;
  * each recipient who has no claim for d* gets one (INSERT … ON CONFLICT DO NOTHING on the
    unique key), and the larger passed offsets they never got are stored as "skipped" — so after
    an outage a recipient gets only the most urgent missed alert;
  * recipients are found by one query per object that already leaves out those claimed, so the
    cost grows with what is due, not with history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..core.db import transactional
from ..extensions import db
from .lifecycle import Status
from .models import Notification, channel_suffix, key_prefix


@dataclass(frozen=True)
class DueObject:
    object_type: str
    object_id: int
    due_at: datetime
    offsets: tuple[int, ...]


@dataclass
class AlertKind:
    name: str
    # (now) -> objects whose alert window is open: due_at - max(offsets) <= now < due_at
    objects: Callable[[datetime], list[DueObject]]
    # (object, key prefix for d*) -> {email: language}, leaving out keys already claimed
    recipients: Callable[[DueObject, str], dict[str, str]]
    # (notification) -> mail.deliver() message, or None when it no longer applies (skip)
    render: Callable[[Notification], dict | None]
    description: str = ""
    # (notification) -> {"text": a short text in note.language, "link": its page} for Telegram and
    # SMS, or None when it no longer applies
    short: Callable[[Notification], dict | None] | None = None


KINDS: dict[str, AlertKind] = {}


def register(kind: AlertKind) -> AlertKind:
    KINDS[kind.name] = kind
    return kind


def most_urgent(obj: DueObject, now: datetime) -> tuple[int | None, list[int]]:
    """(d*, the other passed offsets) at `now`; d* is None when nothing is due."""
    if now >= obj.due_at:
        return None, []
    passed = sorted(d for d in obj.offsets if obj.due_at - timedelta(days=d) <= now)
    if not passed:
        return None, []
    return passed[0], passed[1:]


def _insert(rows: list[dict]) -> list[tuple[int, str]]:
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING id, channel, as one executemany (batched by
    the driver), so only rows this caller really inserted come back."""
    dialect = db.session.get_bind().dialect.name
    table = Notification.__table__
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    statement = statement.on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id, table.c.channel)
    result = db.session.connection().execute(statement, rows)
    return [(row[0], row[1]) for row in result]


def claim(kind: str, *, object_type: str, object_id: int, offset_days: int, due_at,
          recipients: dict[str, str], now: datetime, status: Status = Status.CLAIMED) -> list[int]:  # fmt: skip
    """The ids of `claim_rows`."""
    return [note_id for note_id, _channel in claim_rows(kind, object_type=object_type, object_id=object_id,
                                                        offset_days=offset_days, due_at=due_at,
                                                        recipients=recipients, now=now, status=status)]  # fmt: skip


def claim_rows(kind: str, *, object_type: str, object_id: int, offset_days: int, due_at,
               recipients: dict[str, str], now: datetime, status: Status = Status.CLAIMED) -> list[tuple[int, str]]:  # fmt: skip
    """Insert one row per recipient and channel unless its key exists; return (id, channel) of
    the rows this call claimed. Every recipient gets the email row (the claim that `unclaimed_prefix_filter` sees);
    a person who turned email off for this kind gets it born `skipped`. People who chose Telegram
    or SMS for the kind (with the chat linked, the phone verified) get a row per channel too; their
    choices are read in a few queries (one per thousand recipients). A row is born `claimed` (or `skipped`, for
    an alert missed during an outage); from then on only the notification lifecycle moves it."""
    from ..channels.services import delivery_channels

    if not recipients:
        return []
    prefix = key_prefix(kind, object_type, object_id, offset_days, due_at)
    chosen = delivery_channels(kind, recipients)
    base = {"kind": kind, "object_type": object_type, "object_id": object_id, "offset_days": offset_days,
            "due_at": due_at, "attempts": 0, "claimed_at": now}  # fmt: skip
    rows, unchosen = [], []
    for email, language in recipients.items():
        person = base | {"recipient": email, "language": language}
        channels = chosen.get(email.lower(), {}).get("channels", {"email"})
        row = person | {"key": prefix + email.lower(), "channel": "email", "status": str(status), "error": None}
        if "email" not in channels and status == Status.CLAIMED:
            unchosen.append(row | {"status": str(Status.SKIPPED), "error": "email not chosen for this alert"})
        else:
            rows.append(row)
        for channel in ("telegram", "sms"):
            if channel in channels:
                rows.append(person | {"key": prefix + email.lower() + channel_suffix(channel), "channel": channel,
                                      "status": str(status), "error": None})  # fmt: skip
    if unchosen:
        _insert(unchosen)  # recorded, never sent
    return _insert(rows) if rows else []


@dataclass
class ScanResult:
    claimed: list[int] = field(default_factory=list)  # every row to send, on every channel
    skipped: int = 0  # older alerts missed during an outage, one per person and alert (their email rows)
    lines: list[str] = field(default_factory=list)


@transactional
def scan(now: datetime, *, dry_run: bool = False) -> ScanResult:
    """Claim every alert due at `now`, return the ids to send (the caller sends them once the
    claims are committed)."""
    result = ScanResult()
    for kind in KINDS.values():
        for obj in kind.objects(now):
            urgent, older = most_urgent(obj, now)
            if urgent is None:
                continue
            prefix = key_prefix(kind.name, obj.object_type, obj.object_id, urgent, obj.due_at)
            recipients = kind.recipients(obj, prefix)
            for email in sorted(recipients):
                result.lines.append(f"{'due' if dry_run else 'queued'} {kind.name} {obj.object_type}={obj.object_id} "
                                    f"offset={urgent}d to={email} lang={recipients[email]}")  # fmt: skip
            if dry_run:
                continue
            result.claimed += claim(kind.name, object_type=obj.object_type, object_id=obj.object_id,
                                    offset_days=urgent, due_at=obj.due_at, recipients=recipients, now=now)  # fmt: skip
            for offset in older:  # missed during an outage: recorded as skipped, never sent late
                rows = claim_rows(kind.name, object_type=obj.object_type, object_id=obj.object_id, offset_days=offset,
                                  due_at=obj.due_at, recipients=recipients, now=now, status=Status.SKIPPED)  # fmt: skip
                # counted once per person and alert (the email row), not again for its Telegram, SMS rows
                result.skipped += sum(1 for _id, channel in rows if channel == "email")
    return result


def stale(now: datetime, *, claimed_after: timedelta = timedelta(minutes=10),
          sending_after: timedelta = timedelta(minutes=30)) -> list[int]:  # fmt: skip
    """Claims whose send never happened (a worker died, a message was lost): send them again."""
    rows = db.session.execute(
        select(Notification.id).where(
            ((Notification.status == Status.CLAIMED) & (Notification.claimed_at < now - claimed_after)
             & ((Notification.next_attempt_at.is_(None)) | (Notification.next_attempt_at < now - claimed_after)))
            | ((Notification.status == Status.SENDING) & (Notification.attempted_at < now - sending_after))
        )
    ).scalars()  # fmt: skip
    return list(rows)


def unclaimed_prefix_filter(email_column, prefix: str):
    """SQL: no notification exists with key = prefix || email (leaves out the claimed)."""
    from sqlalchemy import exists, literal

    return ~exists().where(Notification.key == literal(prefix) + email_column)
