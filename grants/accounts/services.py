"""Accounts: registration, email verification, log-in, password reset, API tokens.
Every write and rule about accounts lives here; views and the API only call it."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from .. import mail
from ..audit.services import record
from ..core.db import locked_get, transactional, utcnow
from ..core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from ..i18n import LANGUAGES
from ..security import new_token, token_hash
from . import passwords
from .models import AccountToken, ApiToken, Role, TokenPurpose, User, UserSession

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
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


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def check_email(email: str) -> str:
    try:
        return validate_email(normalize_email(email), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(
            _("Please enter a valid email address."), fields={"email": [_("Not a valid email address.")]}
        ) from None


def _organization_names(user: User) -> list[str]:
    from ..organizations.models import Membership, Organization

    return list(
        db.session.scalars(
            db.select(Organization.name).join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id)
        )
    )  # fmt: skip


def password_problems(password: str, email: str = "", *, name: str = "", user: User | None = None) -> list[str]:
    """The one password rule (accounts.passwords), judged with the person's own words: their
    email, name and (for an existing account) their organizations' names."""
    words = passwords.personal_words(
        email=email or (user.email if user else ""),
        name=name or (user.name if user else ""),
        organizations=_organization_names(user) if user is not None else (),
    )
    return passwords.problems(password, words=words)


def _check_password(
    password: str, email: str = "", field: str = "password", *, name: str = "", user: User | None = None
) -> None:
    problems = password_problems(password, email, name=name, user=user)
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
def register(*, email: str, name: str, password: str, locale: str) -> str:
    """A new applicant account, unusable until the emailed link (48 h) is followed; returns the
    address written to. An address that already has an account gets the same answer (so nobody
    learns which addresses have accounts, ASVS V6.3.8): its owner is emailed instead that someone
    tried to register with it, with a way to reset the password."""
    email = check_email(email)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Please enter your name.")]
    if locale not in LANGUAGES:
        errors["locale"] = [_("Choose one of: Kazakh, Russian, English.")]
    problems = password_problems(password, email, name=name)
    if problems:
        errors["password"] = problems
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    password_hash = hash_password(password)  # also for a taken address: the same work, the same time
    owner = find_by_email(email)
    if owner is not None:
        owner = locked_get(User, owner.id)  # two attempts at once: one notice
        if owner.is_active and not _told_of_an_attempt_today(owner):
            link = external_url("accounts.forgot_password")
            mail.send(owner.email, "registration_attempt", owner.locale, user=owner, link=link)
        record(None, "user.registration_attempted", "user", owner.id)
        return email
    user = User(email=email, name=name[:200], password_hash=password_hash, locale=locale)
    user.roles = {Role.APPLICANT}
    db.session.add(user)
    db.session.flush()
    record(user, "user.registered", "user", user.id, after={"email": email, "locale": locale})
    _send_verification(user)
    return email


def _told_of_an_attempt_today(owner: User) -> bool:
    """At most one "someone tried to register with your address" a day, whoever sends the attempts
    and from however many addresses (the per-IP limit alone would let a botnet flood one inbox)."""
    from ..audit.models import AuditEvent

    since = utcnow() - timedelta(days=1)  # the audit log's own time
    query = db.select(AuditEvent.id).where(AuditEvent.action == "user.registration_attempted",
                                           AuditEvent.object_type == "user", AuditEvent.object_id == owner.id,
                                           AuditEvent.created_at > since).limit(1)  # fmt: skip
    return db.session.execute(query).first() is not None


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


def _void_account_tokens(user: User) -> None:
    """Every emailed link of the user still open (password reset, email verification) stops
    working: a new password makes older links useless to whoever may have them (ASVS V6.4.x)."""
    now = utcnow()
    db.session.execute(
        db.update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose.in_([TokenPurpose.RESET_PASSWORD, TokenPurpose.VERIFY_EMAIL]),
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(expires_at=now - timedelta(seconds=1))  # "expired: ask for a new one", even on a frozen clock
        .execution_options(synchronize_session=False)
    )


@transactional
def reset_password(token: str, password: str) -> User:
    row = db.session.execute(
        db.select(AccountToken).filter_by(token_hash=token_hash(token or ""), purpose=TokenPurpose.RESET_PASSWORD)
    ).scalar_one_or_none()
    if row is not None:
        _check_password(password, user=row.user)
    row = _use_token(token, TokenPurpose.RESET_PASSWORD)
    user = row.user
    user.password_hash = hash_password(password)
    if user.email_verified_at is None:  # the link proves the address too
        user.email_verified_at = utcnow()
    _end_all_sessions(user)
    _void_account_tokens(user)
    record(user, "user.password_reset", "user", user.id)
    return user


@transactional
def change_password(user: User, *, current: str, new: str) -> None:
    """Ends every session and API token of the user, this browser's too (the view signs
    this browser in again), so a stolen cookie stops working."""
    if not password_matches(user, current):
        raise ValidationFailed(_("The current password is wrong."), fields={"current": [_("Wrong password.")]})
    _check_password(new, field="new", user=user)
    user.password_hash = hash_password(new)
    _end_all_sessions(user)
    _void_account_tokens(user)
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
    _check_password(password, email, name=name)
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
def issue_api_token(user: User, *, second_factor: bool = False) -> tuple[str, datetime]:
    """A bearer token; `second_factor` when the person also gave a TOTP code for it."""
    token, hashed = new_token()
    expires = utcnow() + current_app.config["API_TOKEN_LIFETIME"]
    db.session.add(ApiToken(token_hash=hashed, user_id=user.id, expires_at=expires, second_factor=second_factor))
    user.last_login_at = utcnow()  # a script's sign-in counts too (the retention job reads it)
    record(user, "api_token.issued", "user", user.id)
    return token, expires


def api_token_row(token: str) -> ApiToken | None:
    row = db.session.execute(db.select(ApiToken).filter_by(token_hash=token_hash(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at < utcnow():
        return None
    return row


def user_for_api_token(token: str) -> User | None:
    row = api_token_row(token)
    return row.user if row is not None else None


@transactional
def revoke_api_token(token: str) -> None:
    row = db.session.execute(db.select(ApiToken).filter_by(token_hash=token_hash(token))).scalar_one_or_none()
    if row and row.revoked_at is None:
        row.revoked_at = utcnow()
        record(row.user, "api_token.revoked", "user", row.user_id)
