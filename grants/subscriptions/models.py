"""Email subscriptions to calls: no account needed, double opt-in, one-click unsubscribe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, utcnow
from ..extensions import db


class Subscription(db.Model):
    __tablename__ = "subscription"
    __table_args__ = (
        CheckConstraint("language IN ('kk', 'ru', 'en')", name="language"),
        Index("ix_subscription_active", "confirmed_at", "unsubscribed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # New preferences for an already confirmed address wait here until its owner confirms.
    pending: Mapped[dict | None] = mapped_column(JSON)

    region_rows: Mapped[list[SubscriptionRegion]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    theme_rows: Mapped[list[SubscriptionTheme]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def regions(self) -> list[str]:
        return sorted(r.region for r in self.region_rows)

    @property
    def themes(self) -> list[str]:
        return sorted(t.theme_code for t in self.theme_rows)

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class SubscriptionRegion(db.Model):
    __tablename__ = "subscription_region"

    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)


class SubscriptionTheme(db.Model):
    __tablename__ = "subscription_theme"

    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id", ondelete="CASCADE"), primary_key=True)
    theme_code: Mapped[str] = mapped_column(ForeignKey("theme.code", ondelete="CASCADE"), primary_key=True, index=True)
