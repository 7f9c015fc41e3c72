"""Broadcasts: one message from a manager to a segment of people, in kk/ru/en, sent once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import UTCDateTime, utcnow
from ..extensions import db

LANGUAGES = ("kk", "ru", "en")
SEGMENTS = ("applicants", "drafts", "grantees", "reviewers")


class Broadcast(db.Model):
    """`subject` and `body` are {kk, ru, en}; `client_token` (unique) is the form's own token, so a
    second post of the same form finds this broadcast instead of sending again."""

    __tablename__ = "broadcast"
    __table_args__ = (CheckConstraint(f"segment IN ({', '.join(repr(s) for s in SEGMENTS)})", name="segment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_token: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="SET NULL"), index=True)
    segment: Mapped[str] = mapped_column(String(20))
    subject: Mapped[dict] = mapped_column(JSON, default=dict)
    body: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def text_in(self, field: str, locale: str) -> str:
        """The subject or body in `locale`, else Russian, Kazakh, English."""
        texts = getattr(self, field) or {}
        for lang in (locale, "ru", "kk", "en"):
            if texts.get(lang):
                return texts[lang]
        return ""
