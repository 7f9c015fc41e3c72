"""Every email the system sends on its own (announcements, alerts), claimed exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import UTCDateTime, utcnow
from ..extensions import db


class Notification(db.Model):
    """The unique `key` (kind, object, offset, recipient) is claimed in the database before
    anything is sent, so a retried task or a second worker can never send it twice."""

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint("status IN ('claimed', 'sent', 'failed', 'skipped')", name="status"),
        Index("ix_notification_status_claimed_at", "status", "claimed_at"),
        Index("ix_notification_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int]
    offset_days: Mapped[int] = mapped_column(default=0, server_default="0")
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="ru", server_default="ru")
    status: Mapped[str] = mapped_column(String(10), default="claimed", server_default="claimed")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def notification_key(kind: str, object_type: str, object_id: int, offset_days: int, recipient: str) -> str:
    return f"{kind}:{object_type}:{object_id}:{offset_days}:{recipient.lower()}"
