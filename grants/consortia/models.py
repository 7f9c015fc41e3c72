"""Consortia: a lead organization and partners, each partner confirming its participation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, utcnow
from ..extensions import db


class Consortium(db.Model):
    __tablename__ = "consortium"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    lead_organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[ConsortiumMember]] = relationship(
        back_populates="consortium", cascade="all, delete-orphan", lazy="selectin",
        order_by="(ConsortiumMember.role, ConsortiumMember.id)",
    )  # fmt: skip
    lead = relationship("Organization", foreign_keys=[lead_organization_id], lazy="joined")

    @property
    def all_confirmed(self) -> bool:
        return all(m.confirmed for m in self.members)

    def member_ids(self, *, confirmed_only: bool = False) -> list[int]:
        """Every organization listed in the consortium (declined partners too: a conflict of interest
        with one still counts); `confirmed_only`: those that confirmed."""
        return [m.organization_id for m in self.members if m.confirmed or not confirmed_only]

    def participant_ids(self) -> list[int]:
        """The organizations taking part: the lead and every partner that has not declined."""
        return [m.organization_id for m in self.members if m.declined_at is None]


class ConsortiumMember(db.Model):
    __tablename__ = "consortium_member"
    __table_args__ = (
        UniqueConstraint("consortium_id", "organization_id", name="uq_consortium_member_org"),
        CheckConstraint("role IN ('lead', 'partner')", name="role"),
        Index("ix_consortium_member_organization", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(10))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    consortium: Mapped[Consortium] = relationship(back_populates="members")
    organization = relationship("Organization", lazy="joined")

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def state(self) -> str:
        if self.confirmed_at:
            return "confirmed"
        return "declined" if self.declined_at else "pending"
