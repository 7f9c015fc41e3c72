"""Awards: agreement, tranches, reports with indicator values, and issued letters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import StoredFile, UTCDateTime, utcnow
from ..extensions import db


class Award(db.Model):
    __tablename__ = "award"
    __table_args__ = (
        CheckConstraint("status IN ('pending_signature', 'active', 'completed', 'terminated')", name="status"),
        CheckConstraint("amount > 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="RESTRICT"), unique=True)
    agreement_number: Mapped[str] = mapped_column(String(60), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="KZT", server_default="KZT")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="pending_signature", server_default="pending_signature")
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # optimistic: a stale edit is refused
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application = relationship("Application", lazy="joined")
    tranches: Mapped[list[Tranche]] = relationship(cascade="all, delete-orphan", order_by="Tranche.n", lazy="selectin")
    reports: Mapped[list[Report]] = relationship(
        cascade="all, delete-orphan", order_by="Report.due_on", lazy="selectin"
    )
    letters: Mapped[list[Letter]] = relationship(
        cascade="all, delete-orphan", order_by="Letter.version", lazy="selectin"
    )

    @property
    def letter(self) -> Letter | None:
        current = [item for item in self.letters if item.superseded_at is None]
        return current[-1] if current else None

    @property
    def disbursed(self) -> int:
        return sum(t.amount for t in self.tranches if t.paid_on)

    @property
    def payments(self) -> list[TranchePayment]:
        """Every payment and reversal of every tranche, oldest first (the money history)."""
        return sorted((p for t in self.tranches for p in t.payments), key=lambda p: (p.recorded_at, p.id))


class Tranche(db.Model):
    __tablename__ = "tranche"
    __table_args__ = (
        UniqueConstraint("award_id", "n", name="uq_tranche_award_n"),
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint("status IN ('scheduled', 'payable', 'paid')", name="status"),
        CheckConstraint("(status = 'paid') = (paid_on IS NOT NULL)", name="paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="CASCADE"))
    n: Mapped[int]
    percent: Mapped[int]
    amount: Mapped[int] = mapped_column(BigInteger)
    condition: Mapped[str] = mapped_column(String(30))  # signature | interim_report | final_report
    due_on: Mapped[date] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="scheduled", server_default="scheduled")

    payments: Mapped[list[TranchePayment]] = relationship(
        cascade="all, delete-orphan", order_by="TranchePayment.id", lazy="selectin"
    )


class TranchePayment(db.Model):
    """The money history of a tranche, append-only: each payment recorded and each reversal of a
    payment recorded in error (with its reason). Nothing here is ever deleted or changed."""

    __tablename__ = "tranche_payment"
    __table_args__ = (
        CheckConstraint("kind IN ('payment', 'reversal')", name="kind"),
        CheckConstraint("kind = 'reversal' OR paid_on IS NOT NULL", name="paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tranche_id: Mapped[int] = mapped_column(ForeignKey("tranche.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    paid_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tranche = relationship("Tranche", viewonly=True)
    actor = relationship("User", lazy="joined")


class Report(db.Model):
    __tablename__ = "award_report"
    __table_args__ = (
        UniqueConstraint("award_id", "kind", name="uq_award_report_kind"),
        CheckConstraint("kind IN ('interim', 'final')", name="kind"),
        CheckConstraint("status IN ('due', 'submitted', 'approved', 'returned')", name="status"),
        Index("ix_award_report_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="due", server_default="due")
    narrative: Mapped[str] = mapped_column(Text, default="", server_default="")
    indicators: Mapped[dict] = mapped_column(JSON, default=dict)  # {indicator name: value}
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str] = mapped_column(Text, default="", server_default="")

    files: Mapped[list[ReportFile]] = relationship(
        cascade="all, delete-orphan", order_by="ReportFile.id", lazy="selectin"
    )


class ReportFile(StoredFile, db.Model):
    """A file attached to a report (photos, lists of participants, documents)."""

    __tablename__ = "award_report_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("award_report.id", ondelete="CASCADE"), index=True)


class Letter(db.Model):
    """An issued award letter: stored PDF, its SHA-256 and a public verification code.
    Re-issuing adds a version and marks the previous one superseded."""

    __tablename__ = "award_letter"
    __table_args__ = (UniqueConstraint("award_id", "version", name="uq_award_letter_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="CASCADE"))
    version: Mapped[int]
    language: Mapped[str] = mapped_column(String(2))
    verification_code: Mapped[str] = mapped_column(String(40), unique=True)
    path: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the letter states, frozen at issue: every rendering and /verify read this, never the
    # live organization or award (a later rename must not change an issued letter).
    snapshot: Mapped[dict | None] = mapped_column(JSON)
