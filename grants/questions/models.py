"""Public questions about a call: asked privately, answered (and published) or rejected by a manager."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import UTCDateTime, utcnow
from ..extensions import db

LANGUAGES = ("kk", "ru", "en")


class CallQuestion(db.Model):
    """`text` is what the asker wrote (never public); `public_text` the wording a manager published;
    `answer` {kk, ru, en}; `reason` why it was rejected (told to the asker only)."""

    __tablename__ = "call_question"
    __table_args__ = (
        CheckConstraint("status IN ('asked', 'answered', 'rejected')", name="status"),
        Index("ix_call_question_call_status", "call_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)
    public_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    answer: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(String(10), default="asked", server_default="asked")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    def answer_in(self, locale: str) -> str:
        """The answer in `locale`, else Russian, Kazakh, English (as call texts fall back)."""
        answer = self.answer or {}
        for lang in (locale, "ru", "kk", "en"):
            if answer.get(lang):
                return answer[lang]
        return ""

    def question_text(self) -> str:
        return self.public_text or self.text
