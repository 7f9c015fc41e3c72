"""Accounts: registration, email verification, log-in, password reset, API tokens.
Every write and rule about accounts lives here; views and the API only call it."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from .. import mail
from ..audit.services import record
from ..core.db import transactional, utcnow
from ..core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from ..i18n import LANGUAGES
from ..security import new_token, token_hash
from .models import AccountToken, ApiToken, Role, TokenPurpose, User, UserSession

MIN_PASSWORD_LENGTH = 10
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)
_HASHERS = {
    "default": PasswordHasher(),
    # Tests only: the same algorithm with small costs, so hundreds of logins stay quick.
    "fast": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
}
_DUMMY = {name: hasher.hash("not-a-real-password") for name, hasher in _HASHERS.items()}


def _profile() -> str:
    return current_app.config.get("PASSWORD_HASHING", "default")


@cache
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text().splitlines() if line.strip())


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def check_email(email: str) -> str:
    try:
        return validate_email(normalize_email(email), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(
            _("Please enter a valid email address."), fields={"email": [_("Not a valid email address.")]}
        ) from None


def password_problems(password: str, email: str = "") -> list[str]:
    problems = []
    if len(password or "") < MIN_PASSWORD_LENGTH:
        problems.append(_("The password must be at least %(n)d characters long.", n=MIN_PASSWORD_LENGTH))
    lowered = (password or "").lower()
    if lowered in _common_passwords() or (email and lowered == normalize_email(email)):
        problems.append(_("This password is too common and easy to guess. Please choose another."))
    return problems


def _check_password(password: str, email: str = "", field: str = "password") -> None:
    problems = password_problems(password, email)
    if problems:
        raise ValidationFailed(problems[0], fields={field: problems})


def hash_password(password: str) -> str:
    return _HASHERS[_profile()].hash(password)


def password_matches(user: User | None, password: str) -> bool:
    """Argon2 verification; an unknown account costs the same time as a known one."""
    profile = _profile()
    try:
        return (
            _HASHERS[profile].verify(user.password_hash if user else _DUMMY[profile], password or "")
            and user is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def find_by_email(email: str) -> User | None:
    return db.session.execute(db.select(User).filter_by(email=normalize_email(email))).scalar_one_or_none()


def _issue_token(user: User, purpose: TokenPurpose, ttl: timedelta) -> str:
    token, hashed = new_token()
    now = utcnow()
    db.session.add(
        AccountToken(token_hash=hashed, purpose=purpose, user_id=user.id, created_at=now, expires_at=now + ttl)
    )
    return token


def _send_verification(user: User) -> None:
    token = _issue_token(user, TokenPurpose.VERIFY_EMAIL, VERIFY_TTL)
    link = external_url("accounts.verify", token=token)
    mail.send(user.email, "verify_email", user.locale, user=user, link=link, hours=48)


@transactional
def register(*, email: str, name: str, password: str, locale: str) -> User:
    """A new applicant account; unusable until the emailed link (48 h) is followed."""
    email = check_email(email)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Please enter your name.")]
    if locale not in LANGUAGES:
        errors["locale"] = [_("Choose one of: Kazakh, Russian, English.")]
    problems = password_problems(password, email)
    if problems:
        errors["password"] = problems
    if find_by_email(email):
        errors["email"] = [_("An account with this email already exists. Log in or reset your password.")]
    if errors:
        first = next(iter(errors.values()))[0]
        raise (Conflict if list(errors) == ["email"] else ValidationFailed)(
            first, fields=errors, code="email_taken" if list(errors) == ["email"] else None
        )
    user = User(email=email, name=name[:200], password_hash=hash_password(password), locale=locale)
    user.roles = {Role.APPLICANT}
    db.session.add(user)
    db.session.flush()
    record(user, "user.registered", "user", user.id, after={"email": email, "locale": locale})
    _send_verification(user)
    return user


def _use_token(token: str, purpose: TokenPurpose, *, consume: bool = True) -> AccountToken:
    """The live token row, marked used (single use: the row is locked first, so two clicks on
    the same link cannot both use it). `consume=False` only checks it."""
    query = db.select(AccountToken).filter_by(token_hash=token_hash(token or ""), purpose=purpose)
    if consume:
        query = query.with_for_update(of=AccountToken)  # not the joined user row
    row = db.session.execute(query).scalar_one_or_none()
    if row is None:
        raise ServiceError(
            _("This link is not valid. Please check that you copied it completely."), code="invalid_token"
        )
    if row.used_at is not None:
        raise Conflict(_("This link has already been used."), code="token_used")
    if row.expires_at < utcnow():
        raise ServiceError(_("This link has expired. Please ask for a new one."), code="token_expired")
    if consume:
        row.used_at = utcnow()
    return row


@transactional
def verify_email(token: str) -> User:
    row = _use_token(token, TokenPurpose.VERIFY_EMAIL)
    user = row.user
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        record(user, "user.email_verified", "user", user.id)
    return user


@transactional
def resend_verification(email: str) -> None:
    """Sends a fresh link when such an unverified account exists; says nothing either way."""
    user = find_by_email(email)
    if user and not user.is_verified:
        _send_verification(user)


def authenticate(email: str, password: str) -> User:
    user = find_by_email(email)
    if not password_matches(user, password):
        raise ServiceError(_("Wrong email or password."), code="invalid_credentials")
    if not user.is_active:
        raise Forbidden(_("This account is disabled. Please contact the programme team."), code="account_disabled")
    if not user.is_verified:
        raise Forbidden(
            _("Please confirm your email address first: follow the link in the email we sent you."),
            code="email_not_verified",
        )
    return user


@transactional
def request_password_reset(email: str) -> None:
    """Emails a single-use link valid one hour; silent for unknown addresses."""
    user = find_by_email(email)
    if user and user.is_active:
        token = _issue_token(user, TokenPurpose.RESET_PASSWORD, RESET_TTL)
        link = external_url("accounts.reset_password", token=token)
        mail.send(user.email, "reset_password", user.locale, user=user, link=link)
        record(user, "user.password_reset_requested", "user", user.id)


def check_reset_token(token: str) -> None:
    """Validate without using the token (to show the form only for a live link)."""
    _use_token(token, TokenPurpose.RESET_PASSWORD, consume=False)


def _end_all_sessions(user: User) -> None:
    db.session.execute(db.delete(UserSession).where(UserSession.user_id == user.id))
    db.session.execute(
        db.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


@transactional
def reset_password(token: str, password: str) -> User:
    row = db.session.execute(
        db.select(AccountToken).filter_by(token_hash=token_hash(token or ""), purpose=TokenPurpose.RESET_PASSWORD)
    ).scalar_one_or_none()
    if row is not None:
        _check_password(password, row.user.email)
    row = _use_token(token, TokenPurpose.RESET_PASSWORD)
    user = row.user
    user.password_hash = hash_password(password)
    if user.email_verified_at is None:  # the link proves the address too
        user.email_verified_at = utcnow()
    _end_all_sessions(user)
    record(user, "user.password_reset", "user", user.id)
    return user


@transactional
def change_password(user: User, *, current: str, new: str) -> None:
    """Ends every session and API token of the user, this browser's too (the view signs
    this browser in again), so a stolen cookie stops working."""
    if not password_matches(user, current):
        raise ValidationFailed(_("The current password is wrong."), fields={"current": [_("Wrong password.")]})
    _check_password(new, user.email, field="new")
    user.password_hash = hash_password(new)
    _end_all_sessions(user)
    record(user, "user.password_changed", "user", user.id)


@transactional
def update_profile(user: User, *, name: str, locale: str) -> None:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Please enter your name."), fields={"name": [_("Please enter your name.")]})
    if locale not in LANGUAGES:
        raise ValidationFailed(
            _("Choose one of: Kazakh, Russian, English."), fields={"locale": [_("Not a valid choice.")]}
        )
    before = {"name": user.name, "locale": user.locale}
    user.name, user.locale = name[:200], locale
    record(user, "user.updated", "user", user.id, before=before, after={"name": name, "locale": locale})


@transactional
def set_locale(user: User, locale: str) -> None:
    if locale in LANGUAGES and user.locale != locale:
        user.locale = locale


@transactional
def create_user(*, email: str, password: str, name: str, roles, verified: bool, locale: str = "ru") -> User:
    """For set-up (CLI, demo data): any role, optionally verified."""
    email = check_email(email)
    _check_password(password, email)
    if find_by_email(email):
        raise Conflict(_("An account with this email already exists. Log in or reset your password."))
    user = User(email=email, name=name or email.split("@")[0], password_hash=hash_password(password), locale=locale)
    user.roles = roles
    if verified:
        user.email_verified_at = utcnow()
    db.session.add(user)
    db.session.flush()
    record(None, "user.created", "user", user.id, after={"email": email, "roles": sorted(user.roles)})
    return user


@transactional
def issue_api_token(user: User) -> tuple[str, datetime]:
    token, hashed = new_token()
    expires = utcnow() + current_app.config["API_TOKEN_LIFETIME"]
    db.session.add(ApiToken(token_hash=hashed, user_id=user.id, expires_at=expires))
    record(user, "api_token.issued", "user", user.id)
    return token, expires


def user_for_api_token(token: str) -> User | None:
    row = db.session.execute(db.select(ApiToken).filter_by(token_hash=token_hash(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at < utcnow():
        return None
    return row.user


@transactional
def revoke_api_token(token: str) -> None:
    row = db.session.execute(db.select(ApiToken).filter_by(token_hash=token_hash(token))).scalar_one_or_none()
    if row and row.revoked_at is None:
        row.revoked_at = utcnow()
        record(row.user, "api_token.revoked", "user", row.user_id)
