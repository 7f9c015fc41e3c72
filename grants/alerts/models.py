"""Every email the system sends on its own (announcements, deadline alerts), claimed once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import UTCDateTime, utcnow
from ..extensions import db

STATUSES = ("claimed", "sending", "sent", "failed", "bounced", "skipped")
CHANNELS = ("email", "telegram", "sms")


class Notification(db.Model):
    """The unique `key` (kind, object, offset, deadline, recipient, channel) is claimed in the
    database before anything is sent, so a retried task or a second worker never sends it twice.
    `recipient` is always the person's email (the person); `address` is where a Telegram or SMS
    message went (chat id, phone), written when it is sent; `segments` counts an SMS's parts."""

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
        CheckConstraint(f"channel IN ({', '.join(repr(c) for c in CHANNELS)})", name="channel"),
        Index("ix_notification_status_next", "status", "next_attempt_at"),
        Index("ix_notification_object", "object_type", "object_id"),
        Index("ix_notification_kind_status", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int]
    offset_days: Mapped[int] = mapped_column(default=0, server_default="0")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recipient: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(10), default="email", server_default="email")
    address: Mapped[str | None] = mapped_column(String(64))
    segments: Mapped[int | None]
    language: Mapped[str] = mapped_column(String(2), default="ru", server_default="ru")
    status: Mapped[str] = mapped_column(String(10), default="claimed", server_default="claimed")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A message rendered when its event happened (receipt, decision, invitation, letter…): what is
    # sent, kept in the outbound log; alerts have none (they are rendered when sent).
    payload: Mapped[dict | None] = mapped_column(JSON)
    subject: Mapped[str | None] = mapped_column(String(300))


def key_prefix(kind: str, object_type: str, object_id: int, offset_days: int, due_at: datetime | None = None) -> str:
    due = f":{int(due_at.timestamp())}" if due_at is not None else ""
    return f"{kind}:{object_type}:{object_id}:{offset_days}{due}:"


def channel_suffix(channel: str) -> str:
    """The key's channel part. Email keeps the key it always had (prefix + address), so rows
    claimed before the channels existed still count; "|" cannot occur in an email's domain."""
    return "" if channel == "email" else f"|{channel}"


def notification_key(kind, object_type, object_id, offset_days, recipient: str, due_at: datetime | None = None,
                     channel: str = "email") -> str:  # fmt: skip
    return key_prefix(kind, object_type, object_id, offset_days, due_at) + recipient.lower() + channel_suffix(channel)
