"""Organizations (NGOs and initiative groups), their members and invitations."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..core.db import UTCDateTime, utcnow
from ..core.search import search_key
from ..extensions import db
from .reference import LEGAL_FORMS, REGIONS


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class MemberRole(enum.StrEnum):
    OWNER = "owner"
    EDITOR = "editor"


class Organization(db.Model):
    __tablename__ = "organization"
    __table_args__ = (
        CheckConstraint(_in("region", REGIONS), name="region"),
        CheckConstraint(_in("legal_form", LEGAL_FORMS), name="legal_form"),
        CheckConstraint("settlement IN ('rural', 'urban')", name="settlement"),
        CheckConstraint(
            "(legal_form = 'initiative_group' AND bin IS NULL) OR (legal_form <> 'initiative_group' AND bin IS NOT NULL)",
            name="bin_required",
        ),
        CheckConstraint("board_women <= board_total AND board_youth <= board_total", name="board_counts"),
        Index("ix_organization_region", "region"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    bin: Mapped[str | None] = mapped_column(String(12), unique=True)
    legal_form: Mapped[str] = mapped_column(String(30))
    region: Mapped[str] = mapped_column(String(30))
    settlement: Mapped[str] = mapped_column(String(10))
    settlement_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    staff_full_time: Mapped[int] = mapped_column(default=0, server_default="0")
    staff_part_time: Mapped[int] = mapped_column(default=0, server_default="0")
    volunteers: Mapped[int] = mapped_column(default=0, server_default="0")
    head_gender: Mapped[str | None] = mapped_column(String(10))
    head_birth_year: Mapped[int | None]
    board_total: Mapped[int] = mapped_column(default=0, server_default="0")
    board_women: Mapped[int] = mapped_column(default=0, server_default="0")
    board_youth: Mapped[int] = mapped_column(default=0, server_default="0")
    women_led: Mapped[bool] = mapped_column(default=False, server_default="0")
    youth_led: Mapped[bool] = mapped_column(default=False, server_default="0")
    evidence_path: Mapped[str | None] = mapped_column(String(300))
    evidence_filename: Mapped[str | None] = mapped_column(String(255))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence_content_type: Mapped[str | None] = mapped_column(String(100))
    # Set only by a manager; only these count for priority points.
    public_profile: Mapped[bool] = mapped_column(default=False, server_default="0")
    women_led_verified: Mapped[bool] = mapped_column(default=False, server_default="0")
    youth_led_verified: Mapped[bool] = mapped_column(default=False, server_default="0")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Name, place, description and the region's names, folded and in Latin (core.search);
    # kept up to date by the before_flush listener below. Deferred: only searches read it.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="", deferred=True)

    memberships = relationship("Membership", back_populates="organization", lazy="raise")
    theme_rows: Mapped[list[OrganizationTheme]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def themes(self) -> list[str]:
        return sorted(row.theme_code for row in self.theme_rows)

    @property
    def needs_verification(self) -> bool:
        declared = (self.women_led, self.youth_led)
        return any(declared) and self.verified_at is None


SEARCHED_FIELDS = ("name", "settlement_name", "description", "region")


def organization_search_text(
    *, name: str | None, settlement_name: str | None, description: str | None, region: str | None
) -> str:
    """The search column's value: what a partner search may find an organization by, with the
    region in Kazakh, Russian and English («Алматы облысы», «Алматинская», "Almaty").
    Also used by migration 0012 to fill the column for existing rows."""
    region_names = REGIONS.get(region or "", {}).values()  # kk, ru, en
    return search_key(name, settlement_name, description, *region_names)


@event.listens_for(Session, "before_flush")
def _refresh_search_text(session: Session, _context, _instances) -> None:
    """Whoever writes an organization (services, demo, API), its search text follows."""
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Organization):
            continue
        state = inspect(obj)
        if obj in session.new or any(state.attrs[field].history.has_changes() for field in SEARCHED_FIELDS):
            obj.search_text = organization_search_text(
                name=obj.name, settlement_name=obj.settlement_name, description=obj.description, region=obj.region
            )


class OrganizationTheme(db.Model):
    """Themes an organization works on (for partner search in the public directory)."""

    __tablename__ = "organization_theme"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    theme_code: Mapped[str] = mapped_column(ForeignKey("theme.code", ondelete="CASCADE"), primary_key=True, index=True)


class Membership(db.Model):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "organization_id", name="uq_membership_user_organization"),
        CheckConstraint("role IN ('owner', 'editor')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User", back_populates="memberships", lazy="raise")
    organization = relationship("Organization", back_populates="memberships", lazy="raise")


class Invitation(db.Model):
    """An owner's invitation of a person (by email) to join the organization."""

    __tablename__ = "invitation"
    __table_args__ = (CheckConstraint("role IN ('owner', 'editor')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization = relationship("Organization", lazy="joined")
