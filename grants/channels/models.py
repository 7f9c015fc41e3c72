"""A person's Telegram chat, phone number and the channels each alert kind reaches them on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import UTCDateTime, utcnow
from ..extensions import db

CHANNELS = ("email", "telegram", "sms")


class TelegramLink(db.Model):
    """One chat per person and one person per chat (both unique)."""

    __tablename__ = "telegram_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TelegramCode(db.Model):
    """A one-time linking code: only its HMAC is stored; short-lived and used once."""

    __tablename__ = "telegram_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PhoneNumber(db.Model):
    """A verified mobile number (E.164); a number belongs to one person."""

    __tablename__ = "phone_number"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PhoneCode(db.Model):
    """One SMS verification code sent (its HMAC only); the rows also count sends for the rate limit."""

    __tablename__ = "phone_code"
    __table_args__ = (
        Index("ix_phone_code_user_created", "user_id", "created_at"),
        Index("ix_phone_code_phone_created", "phone", "created_at"),
        Index("ix_phone_code_created", "created_at"),  # the site's daily count
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TelegramUpdate(db.Model):
    """A Telegram update already handled (its id): Telegram delivers again what it thinks was not
    answered, and a replay must do nothing. Kept for two days."""

    __tablename__ = "telegram_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class TelegramBlocked(db.Model):
    """The person blocked the bot (Telegram answered 403): the chat was unlinked, and the channels
    page says why until Telegram is linked again."""

    __tablename__ = "telegram_blocked"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    blocked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChannelChoice(db.Model):
    """The channels one alert kind reaches a person on. No row: email only (the default)."""

    __tablename__ = "channel_choice"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_channel_choice_user_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    email: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    telegram: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    sms: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    def chosen(self) -> set[str]:
        return {channel for channel in CHANNELS if getattr(self, channel)}
