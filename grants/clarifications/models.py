"""A manager's question on a submitted application and the lead's answers (addenda)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import StoredFile, UTCDateTime, utcnow
from ..extensions import db


class Clarification(db.Model):
    """A request for more information, answered by the lead until `reply_by` or until closed."""

    __tablename__ = "clarification"
    __table_args__ = (CheckConstraint("status IN ('open', 'answered', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    reply_by: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application = relationship("Application", lazy="joined")
    asked_by = relationship("User", foreign_keys=[asked_by_id])
    replies: Mapped[list[ClarificationReply]] = relationship(
        back_populates="clarification", order_by="ClarificationReply.id", lazy="selectin"
    )


class ClarificationReply(db.Model):
    """One answer: an addendum to the frozen submission, with the SHA-256 of its canonical JSON
    (the text and its files' hashes)."""

    __tablename__ = "clarification_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    clarification_id: Mapped[int] = mapped_column(ForeignKey("clarification.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    clarification: Mapped[Clarification] = relationship(back_populates="replies")
    by = relationship("User", foreign_keys=[by_id])
    files: Mapped[list[ClarificationFile]] = relationship(order_by="ClarificationFile.id", lazy="selectin")


class ClarificationFile(StoredFile, db.Model):
    """A file attached to an answer (checked by content, stored by core.uploads)."""

    __tablename__ = "clarification_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("clarification_reply.id", ondelete="CASCADE"), index=True)
