"""Users, their browser sessions, single-use email tokens and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..core.db import UTCDateTime, utcnow
from ..core.search import search_key
from ..extensions import db


class Role(enum.StrEnum):
    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.APPLICANT: _l("Applicant"),
    Role.REVIEWER: _l("Reviewer"),
    Role.MANAGER: _l("Programme manager"),
    Role.ADMIN: _l("Administrator"),
}


class User(db.Model):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("locale IN ('kk', 'ru', 'en')", name="locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(2), default="ru", server_default="ru")
    roles_text: Mapped[str] = mapped_column("roles", String(100), default="applicant", server_default="applicant")
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the person was anonymised (they deleted their account, or the retention job did): the
    # row stays so what they submitted keeps an author, "Deleted user #id" (accounts.personal_data).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Name and email, folded and in Latin (core.search), for the admin's user search; kept up to
    # date by the before_flush listener below. Deferred: only that search reads it.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="", deferred=True)

    memberships = relationship("Membership", back_populates="user", lazy="raise")

    # Flask-Login protocol
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    def get_id(self) -> str:
        return str(self.id)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles_text.split(",") if r)

    @roles.setter
    def roles(self, value) -> None:
        self.roles_text = ",".join(sorted(Role(r).value for r in value))

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    @property
    def is_manager(self) -> bool:
        return self.has_role(Role.MANAGER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None


class UserSession(db.Model):
    """One signed-in browser. Logging out deletes it; a password change deletes all of the
    user's, so a replayed old cookie no longer signs anyone in."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    # The absolute end, fixed at sign-in (security.start_session); idle time runs from last_seen_at,
    # which is written at most once a minute. Expired rows are refused and purged (security.py).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_agent: Mapped[str | None] = mapped_column(String(120))
    # Signed in with a second factor (TOTP or a recovery code): a role that requires it is refused
    # a session without it (security._require_second_factor).
    second_factor: Mapped[bool] = mapped_column(default=False, server_default="0")

    user: Mapped[User] = relationship(lazy="joined")


class TwoFactor(db.Model):
    """A person's TOTP authenticator (accounts/two_factor.py). `last_step` is the last 30-second
    step a code was accepted for: a code is never accepted twice, nor an older one."""

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    secret_sealed: Mapped[str] = mapped_column(String(255))  # core/vault.py: never the key itself
    enabled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    failures: Mapped[int] = mapped_column(default=0, server_default="0")  # wrong codes in a row
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def secret(self) -> str:
        from ..core.vault import unseal

        return unseal(self.secret_sealed)

    @secret.setter
    def secret(self, value: str) -> None:
        from ..core.vault import seal

        self.secret_sealed = seal(value)


class RecoveryCode(db.Model):
    """A one-time code for when the authenticator is lost; only its SHA-256 is stored."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TokenPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"  # sent to the new address; `new_email` applies when it is opened


class AccountToken(db.Model):
    """A single-use link sent by email; only its SHA-256 is stored."""

    __tablename__ = "account_token"
    __table_args__ = (Index("ix_account_token_user_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    new_email: Mapped[str | None] = mapped_column(String(254))

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Issued after a TOTP code: only such a token serves a role that requires two-factor login
    # (a token from before the role was granted, or from before two-factor, does not).
    second_factor: Mapped[bool] = mapped_column(default=False, server_default="0")

    user: Mapped[User] = relationship(lazy="joined")


@event.listens_for(Session, "before_flush")
def _refresh_user_search_text(session: Session, _context, _instances) -> None:
    """Whoever writes a user (services, demo, CLI), the search text follows its name and email."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, User):
            state = inspect(obj)
            if obj in session.new or state.attrs.name.history.has_changes() or state.attrs.email.history.has_changes():
                obj.search_text = search_key(obj.name, obj.email)
