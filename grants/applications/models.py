"""Applications, their rows (budget, indicators, workplan), attachments, frozen submissions
and the access log."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import StoredFile, UTCDateTime, utcnow
from ..extensions import db

STATUSES = ("draft", "submitted", "withdrawn", "eligible", "ineligible", "in_review", "reviewed", "awarded",
            "reserve", "rejected")  # fmt: skip


class Application(db.Model):
    __tablename__ = "application"
    __table_args__ = (
        # A consortium may send several applications to one call (up to max_awards_per_consortium
        # can be funded), so (call, consortium) is indexed, not unique.
        Index("ix_application_call_consortium", "call_id", "consortium_id"),
        UniqueConstraint("call_id", "number", name="uq_application_call_number"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
        CheckConstraint("requested_amount >= 0", name="requested_amount"),
        CheckConstraint("language IN ('kk', 'ru', 'en')", name="language"),
        Index("ix_application_call_status", "call_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="RESTRICT"))
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    # Incremented by every save: a save based on an older version is refused (optimistic lock).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # {section: the version at which its content last changed}: a save based on an older version
    # conflicts only when one of its own sections changed since (another tab or person).
    section_versions: Mapped[dict] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    # A draft started on a device without a connection carries the device's key, so a retried
    # sending after a dropped answer finds the same draft instead of starting a second one.
    offline_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    number: Mapped[int | None]  # per call, given at first submission: the receipt's <code>-0001
    language: Mapped[str] = mapped_column(String(2), default="ru", server_default="ru")
    title: Mapped[str] = mapped_column(String(300), default="", server_default="")
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    problem: Mapped[str] = mapped_column(Text, default="", server_default="")
    objectives: Mapped[str] = mapped_column(Text, default="", server_default="")
    activities: Mapped[str] = mapped_column(Text, default="", server_default="")
    requested_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    partner_roles: Mapped[dict] = mapped_column(JSON, default=dict)
    declarations: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eligibility_reason: Mapped[str | None] = mapped_column(Text)
    # when eligibility was last decided (the window for appealing an ineligibility runs from it)
    eligibility_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    call = relationship("Call", lazy="joined")
    consortium = relationship("Consortium", lazy="joined")
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        cascade="all, delete-orphan", order_by="BudgetLine.position", lazy="selectin"
    )
    indicators: Mapped[list[Indicator]] = relationship(
        cascade="all, delete-orphan", order_by="Indicator.position", lazy="selectin"
    )
    workplan: Mapped[list[WorkplanItem]] = relationship(
        cascade="all, delete-orphan", order_by="WorkplanItem.position", lazy="selectin"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        cascade="all, delete-orphan", order_by="Attachment.id", lazy="selectin"
    )

    @property
    def budget_total(self) -> int:
        return sum(line.total for line in self.budget_lines)


class BudgetLine(db.Model):
    __tablename__ = "budget_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_cost >= 0", name="unit_cost"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    category: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_cost: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(default=0)

    @property
    def total(self) -> int:
        """Whole tenge, rounded half up (quantities may be fractional, e.g. 1.5 months)."""
        return int((self.quantity * self.unit_cost).quantize(Decimal("1"), rounding="ROUND_HALF_UP"))


class Indicator(db.Model):
    __tablename__ = "indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(60))
    baseline: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    target: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    position: Mapped[int] = mapped_column(default=0)


class WorkplanItem(db.Model):
    __tablename__ = "workplan_item"
    __table_args__ = (CheckConstraint("start_month >= 1 AND start_month <= end_month", name="months"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    activity: Mapped[str] = mapped_column(String(500))
    start_month: Mapped[int]
    end_month: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)


class Attachment(StoredFile, db.Model):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30), default="other", server_default="other")


class Submission(db.Model):
    """One frozen version: canonical JSON, its SHA-256 and the receipt number. Never changed."""

    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("application_id", "version", name="uq_submission_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    receipt_number: Mapped[str] = mapped_column(String(60), unique=True)
    snapshot: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessLogEntry(db.Model):
    """Every opening of an application by someone outside its consortium."""

    __tablename__ = "application_access"
    __table_args__ = (Index("ix_application_access_application", "application_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    viewer_role: Mapped[str] = mapped_column(String(20))  # manager | reviewer | admin
    reviewer_seat: Mapped[int | None]  # "Reviewer 2" for the applicant
    action: Mapped[str] = mapped_column(String(30))  # view | pdf | attachment
    sealed_reason: Mapped[str | None] = mapped_column(Text)  # opened before the call closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User", lazy="joined")
