"""Calls for proposals, their criteria and themes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import Multilingual, UTCDateTime, utcnow
from ..extensions import db

call_theme = Table(
    "call_theme",
    db.metadata,
    Column("call_id", ForeignKey("call.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_code", ForeignKey("theme.code", ondelete="CASCADE"), primary_key=True, index=True),
)


class CallRegion(db.Model):
    """A region a call is open to; a call with none is open to every region."""

    __tablename__ = "call_region"

    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)


class Theme(db.Model):
    """An editable list of themes (waste, climate, water, ...), named in three languages."""

    __tablename__ = "theme"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_kk: Mapped[str] = mapped_column(String(120))
    name_ru: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0, server_default="0")

    def name(self, locale: str) -> str:
        return getattr(self, f"name_{locale}", None) or self.name_ru


class Call(Multilingual, db.Model):
    __tablename__ = "call"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'in_review', 'decided', 'archived')", name="status"),
        CheckConstraint("min_amount >= 0 AND min_amount <= max_amount AND max_amount <= envelope", name="amounts"),
        CheckConstraint("opens_at < closes_at", name="dates"),
        CheckConstraint("priority_basis IN ('lead', 'majority')", name="priority_basis"),
        CheckConstraint(
            "consortium_min_members >= 1 AND consortium_min_members <= consortium_max_members", name="size"
        ),
        Index("ix_call_status_closes_at", "status", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    title_kk: Mapped[str] = mapped_column(String(300), default="", server_default="")
    title_ru: Mapped[str] = mapped_column(String(300), default="", server_default="")
    title_en: Mapped[str] = mapped_column(String(300), default="", server_default="")
    description_kk: Mapped[str] = mapped_column(Text, default="", server_default="")
    description_ru: Mapped[str] = mapped_column(Text, default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    currency: Mapped[str] = mapped_column(String(3), default="KZT", server_default="KZT")
    envelope: Mapped[int] = mapped_column(BigInteger)
    min_amount: Mapped[int] = mapped_column(BigInteger)
    max_amount: Mapped[int] = mapped_column(BigInteger)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consortium_min_members: Mapped[int] = mapped_column(default=2, server_default="2")
    consortium_max_members: Mapped[int] = mapped_column(default=6, server_default="6")
    max_awards: Mapped[int] = mapped_column(default=20, server_default="20")
    max_awards_per_consortium: Mapped[int] = mapped_column(default=4, server_default="4")
    max_consortia: Mapped[int] = mapped_column(default=5, server_default="5")
    reviewers_per_application: Mapped[int] = mapped_column(default=3, server_default="3")
    blind_review: Mapped[bool] = mapped_column(default=True, server_default="1")
    quality_threshold: Mapped[float] = mapped_column(Numeric(5, 2), default=60, server_default="60")
    divergence_threshold: Mapped[float] = mapped_column(Numeric(5, 2), default=25, server_default="25")
    alert_offsets_days: Mapped[list] = mapped_column(JSON, default=lambda: [30, 14, 7, 3, 1])
    women_led_points: Mapped[int] = mapped_column(default=10, server_default="10")
    youth_led_points: Mapped[int] = mapped_column(default=10, server_default="10")
    rural_points: Mapped[int] = mapped_column(default=5, server_default="5")
    newcomer_points: Mapped[int] = mapped_column(default=0, server_default="0")
    priority_cap: Mapped[int] = mapped_column(default=20, server_default="20")
    priority_basis: Mapped[str] = mapped_column(String(10), default="lead", server_default="lead")
    youth_age_min: Mapped[int] = mapped_column(default=18, server_default="18")
    youth_age_max: Mapped[int] = mapped_column(default=35, server_default="35")
    guideline_path: Mapped[str | None] = mapped_column(String(300))
    guideline_filename: Mapped[str | None] = mapped_column(String(255))
    guideline_sha256: Mapped[str | None] = mapped_column(String(64))
    guideline_content_type: Mapped[str | None] = mapped_column(String(100))
    # Per-section how-to and example for applicants: {section: {lang: {"howto": str, "example": str}}};
    # sections without an entry show the programme's default text.
    section_help: Mapped[dict | None] = mapped_column(JSON)
    review_days: Mapped[int] = mapped_column(default=21, server_default="21")  # assignment due = assigned + days
    appeal_days: Mapped[int] = mapped_column(default=10, server_default="10")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the call was published with less than MIN_LEAD_DAYS before its deadline (shown publicly).
    short_notice_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", order_by="Criterion.position", cascade="all, delete-orphan", lazy="selectin"
    )
    themes: Mapped[list[Theme]] = relationship(secondary=call_theme, order_by=Theme.position, lazy="selectin")
    region_rows: Mapped[list[CallRegion]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def regions(self) -> list[str]:
        return sorted(row.region for row in self.region_rows)

    def days_to_deadline(self) -> int:
        """Whole days applicants have to apply, from now (or from the opening, when it is later) to the
        deadline: the lead time `publish` compares with MIN_LEAD_DAYS. A call opening in 25 days that
        closes 5 days later gives 5."""
        from ..core import clock

        return (self.closes_at - max(clock.now(), self.opens_at)).days


class Criterion(Multilingual, db.Model):
    __tablename__ = "criterion"
    __table_args__ = (
        UniqueConstraint("call_id", "key", name="uq_criterion_call_key"),
        CheckConstraint("weight > 0 AND weight <= 100", name="weight"),
        CheckConstraint("max_score > 0", name="max_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    title_kk: Mapped[str] = mapped_column(String(300), default="", server_default="")
    title_ru: Mapped[str] = mapped_column(String(300), default="", server_default="")
    title_en: Mapped[str] = mapped_column(String(300), default="", server_default="")
    weight: Mapped[int]
    max_score: Mapped[int]
    position: Mapped[int] = mapped_column(default=0, server_default="0")

    call: Mapped[Call] = relationship(back_populates="criteria")
