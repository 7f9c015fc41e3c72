"""Reviewers, conflicts, assignments, reviews, eligibility decisions, funding decisions, appeals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, utcnow
from ..extensions import db


class ReviewerProfile(db.Model):
    """A reviewer's declared affiliations (organizations) and regions of expertise."""

    __tablename__ = "reviewer_profile"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    regions: Mapped[list] = mapped_column(JSON, default=list)
    expertise: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User", lazy="joined")


class ReviewerAffiliation(db.Model):
    """An organization the reviewer works for or with: never assigned its applications."""

    __tablename__ = "reviewer_affiliation"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)


class ReviewerConflict(db.Model):
    """A conflict the reviewer declared in advance (with an organization)."""

    __tablename__ = "reviewer_conflict"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class ReviewerInvitation(db.Model):
    __tablename__ = "reviewer_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Assignment(db.Model):
    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id", name="uq_assignment_application_reviewer"),
        CheckConstraint("status IN ('pending', 'declared', 'conflicted', 'submitted')", name="status"),
        Index("ix_assignment_reviewer_status", "reviewer_id", "status"),
        Index("ix_assignment_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    seat: Mapped[int]  # "Reviewer 1, 2, 3" for the applicant; never the name
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pledge_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conflict_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application = relationship("Application", lazy="joined")
    reviewer = relationship("User", lazy="joined")
    review: Mapped[Review | None] = relationship(back_populates="assignment", uselist=False, lazy="selectin")


class Review(db.Model):
    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"), unique=True)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)  # {criterion key: number}
    comments: Mapped[dict] = mapped_column(JSON, default=dict)  # {criterion key: text}
    overall_comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The reviewer total T of a submitted review as an exact fraction, computed by
    # scoring.reviewer_total when it is submitted (ranking.store_total) and cleared when reopened,
    # so the ranking screen reads 2 integers instead of summing every review's scores.
    total_numerator: Mapped[int | None] = mapped_column(BigInteger)
    total_denominator: Mapped[int | None] = mapped_column(BigInteger)

    assignment: Mapped[Assignment] = relationship(back_populates="review")


class Decision(db.Model):
    """The funding decision on one application: one row per application holding the current
    version; every version (outcome, justification, who, when) is kept in DecisionVersion.
    `against_selection` decisions and those that exceed a cap (`exceeds`) carry a public
    justification. A change names the version it replaces (`version`), so a stale write is refused.
    A reopened decision (an upheld appeal) has no outcome until the next version."""

    __tablename__ = "decision"
    __table_args__ = (
        CheckConstraint("outcome IN ('award', 'reserve', 'reject')", name="outcome"),
        CheckConstraint("status IN ('decided', 'reopened')", name="status"),
        CheckConstraint("(status = 'decided') = (outcome IS NOT NULL)", name="outcome_when_decided"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="decided", server_default="decided")
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    outcome: Mapped[str | None] = mapped_column(String(10))
    against_selection: Mapped[bool] = mapped_column(default=False, server_default="0")
    justification: Mapped[str] = mapped_column(Text, default="", server_default="")
    exceeds: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))  # caps gone beyond
    reviews_missing_reason: Mapped[str | None] = mapped_column(Text)
    # Frozen at decision time: what the applicant is shown (rank, merit, priority, breakdown).
    explanation: Mapped[dict] = mapped_column(JSON, default=dict)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application = relationship("Application", lazy="joined")


class DecisionVersion(db.Model):
    """One version of a decision, kept for good (the history a change never erases)."""

    __tablename__ = "decision_version"
    __table_args__ = (UniqueConstraint("decision_id", "version", name="uq_decision_version_decision_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"))
    version: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(10))
    against_selection: Mapped[bool] = mapped_column(default=False, server_default="0")
    justification: Mapped[str] = mapped_column(Text, default="", server_default="")
    exceeds: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    reviews_missing_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Appeal(db.Model):
    """The lead's appeal against one version of the decision: one per application and version
    (the unique constraint backs the lock taken when filing)."""

    __tablename__ = "appeal"
    __table_args__ = (
        CheckConstraint("status IN ('filed', 'upheld', 'dismissed')", name="status"),
        UniqueConstraint("application_id", "decision_version", name="uq_appeal_application_decision_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    decision_version: Mapped[int] = mapped_column(default=1, server_default="1")
    status: Mapped[str] = mapped_column(String(10), default="filed", server_default="filed")
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
