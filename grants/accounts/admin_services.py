"""User administration by an admin: roles, disabling, email changes, two-factor resets.

Every change is recorded as an audit event and the person is told by email in their own
language. Two rules hold under concurrency: the last active admin cannot lose the role or be
disabled (the active admins' rows are locked, in id order, before they are counted), and an
admin cannot disable themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from flask_login import user_logged_in
from sqlalchemy import and_, func, or_, select

from .. import mail
from ..audit.services import record
from ..core import clock, search
from ..core.db import transactional, utcnow
from ..core.errors import Conflict, Forbidden, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from ..security import new_token
from .models import ROLE_LABELS, AccountToken, ApiToken, Role, TokenPurpose, User, UserSession
from .rules import can_manage_users

EMAIL_CHANGE_TTL = timedelta(hours=48)
PER_PAGE = 50


# --- last login ---------------------------------------------------------------------------------


def record_login(user: User) -> None:
    """The time of the user's last sign-in (shown to admins); part of the sign-in's unit of work."""
    user.last_login_at = utcnow()


@user_logged_in.connect
def _on_login(_app, user, **_extra) -> None:
    if isinstance(user, User):
        record_login(user)


# --- reading ------------------------------------------------------------------------------------


def _require_admin(actor) -> None:
    if not can_manage_users(actor):
        raise Forbidden(_("Only an administrator can manage users."))


def search_query(q: str | None):
    """Users whose name or email holds every word of `q` (Cyrillic or Latin, as the project's
    search compares: «Айгүл» finds "Aigul"), newest first."""
    statement = select(User).order_by(User.id.desc())
    text = (q or "").strip()
    conditions = search.matches(text, User.search_text)
    if conditions:
        statement = statement.where(or_(and_(*conditions), User.email.contains(text.lower(), autoescape=True)))
    return statement


@dataclass
class UserFacts:
    """What the users page shows beside each user."""

    organizations: list[str]
    sessions: int


def facts(users: list[User]) -> dict[int, UserFacts]:
    """Organizations and active sessions of `users`, in two queries."""
    from ..organizations.models import Membership, Organization

    ids = [u.id for u in users]
    out = {i: UserFacts([], 0) for i in ids}
    if not ids:
        return out
    rows = db.session.execute(
        select(Membership.user_id, Organization.name).join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.user_id.in_(ids)).order_by(Organization.name)
    ).all()  # fmt: skip
    for user_id, name in rows:
        out[user_id].organizations.append(name)
    counts = db.session.execute(
        select(UserSession.user_id, func.count()).where(UserSession.user_id.in_(ids), *_live_session_filter())
        .group_by(UserSession.user_id)
    ).all()  # fmt: skip
    for user_id, count in counts:
        out[user_id].sessions = count
    return out


def _live_session_filter() -> list:
    """Sessions that still sign someone in (ones past their absolute lifetime are not counted)."""
    return [UserSession.expires_at > clock.now()]


def pending_email(user: User) -> str | None:
    """The new address waiting for its link to be opened, if any."""
    row = db.session.execute(
        select(AccountToken).where(AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.CHANGE_EMAIL,
                                   AccountToken.used_at.is_(None), AccountToken.expires_at > utcnow())
        .order_by(AccountToken.id.desc()).limit(1)
    ).scalar_one_or_none()  # fmt: skip
    return row.new_email if row else None


# --- the last admin -----------------------------------------------------------------------------


def _lock_active_admins() -> list[int]:
    """Lock every active admin's row (in id order, so two admins demoting each other at once
    wait for one another instead of deadlocking) and return their ids. A row changed by a
    transaction committed meanwhile is read again, so a demoted admin is no longer counted."""
    return list(
        db.session.execute(
            select(User.id).where(User.roles_text.like("%admin%"), User.disabled_at.is_(None))
            .order_by(User.id).with_for_update()
        ).scalars()
    )  # fmt: skip


def _keep_an_admin(actor: User, user: User | None) -> None:
    """Under the admins' lock: the actor is still an admin (not demoted or disabled by a change
    committed meanwhile), and `user`, who is losing admin rights, is not the last one."""
    admins = _lock_active_admins()
    if actor.id not in admins:
        raise Forbidden(_("Only an administrator can manage users."))
    if user is not None and user.id in admins and len(admins) == 1:
        raise Conflict(
            _("This is the last active administrator. Make someone else an administrator first."), code="last_admin"
        )


def _lock_user(user: User) -> User:
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    db.session.refresh(user)
    return user


# --- writes -------------------------------------------------------------------------------------


def parse_roles(values) -> set[Role]:
    """Role names as given (a form or the API); 422 for an unknown one."""
    roles = set()
    for value in values or []:
        try:
            roles.add(Role(value))
        except ValueError:
            raise ValidationFailed(
                _("Unknown role: %(role)s.", role=str(value)[:40]), fields={"roles": [_("Not a valid choice.")]}
            ) from None
    return roles


def _tell(user: User, kind: str, *, to: str | None = None, **context) -> None:
    link = external_url("accounts.login")
    mail.send(to or user.email, kind, user.locale, user=user, link=link, **context)


@transactional
def set_roles(actor: User, user: User, roles) -> bool:
    """Grant and revoke roles: the user ends with exactly `roles`. Refused (409 `last_admin`)
    when it would leave no active admin. Returns whether anything changed."""
    _require_admin(actor)
    roles = parse_roles(roles)
    if not roles:
        raise ValidationFailed(_("Choose at least one role."), fields={"roles": [_("Choose at least one role.")]})
    _keep_an_admin(actor, None if Role.ADMIN in roles else user)
    _lock_user(user)
    before = sorted(user.roles)
    if set(user.roles) == roles:
        return False
    user.roles = roles
    after = sorted(user.roles)
    record(actor, "user.roles_changed", "user", user.id, before={"roles": before}, after={"roles": after})
    # lazy labels: translated when the email is rendered, in the person's language
    _tell(user, "account_roles", granted=[ROLE_LABELS[Role(r)] for r in after if r not in before],
          revoked=[ROLE_LABELS[Role(r)] for r in before if r not in after],
          roles=[ROLE_LABELS[Role(r)] for r in after])  # fmt: skip
    return True


def _end_access(user: User) -> tuple[int, int]:
    """End every browser session and revoke every API token of the user."""
    now = utcnow()
    sessions = db.session.execute(db.delete(UserSession).where(UserSession.user_id == user.id)).rowcount
    tokens = db.session.execute(
        db.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    return sessions, tokens


@transactional
def disable(actor: User, user: User) -> bool:
    """Disable an account: it can no longer sign in, its sessions end and its API tokens are
    revoked at once, and no alert, message or broadcast is sent to it any more (they all skip
    disabled users). Not oneself; not the last active admin (409 `last_admin`)."""
    _require_admin(actor)
    if actor.id == user.id:
        raise Forbidden(_("You cannot disable your own account."), code="own_account")
    _keep_an_admin(actor, user)
    _lock_user(user)
    if user.disabled_at is not None:
        return False
    user.disabled_at = utcnow()
    sessions, tokens = _end_access(user)
    record(actor, "user.disabled", "user", user.id, after={"sessions_ended": sessions, "api_tokens_revoked": tokens})
    _tell(user, "account_disabled")
    return True


@transactional
def enable(actor: User, user: User) -> bool:
    """Re-enable a disabled account (the person signs in again with their password)."""
    _require_admin(actor)
    _lock_user(user)
    if user.disabled_at is None:
        return False
    if user.anonymised_at is not None:  # the person deleted their account: nobody may take it over
        raise Conflict(_("This account was deleted by its owner and cannot be used again."), code="anonymised")
    before = user.disabled_at
    user.disabled_at = None
    record(actor, "user.enabled", "user", user.id, before={"disabled_at": before})
    _tell(user, "account_enabled")
    return True


@transactional
def request_email_change(actor: User, user: User, new_email: str) -> None:
    """Send a link to the new address; the address changes only when it is opened (48 h).
    The current address is told that a change was asked for."""
    from .services import check_email, find_by_email

    _require_admin(actor)
    if user.anonymised_at is not None:
        raise Conflict(_("This account was deleted by its owner and cannot be used again."), code="anonymised")
    email = check_email(new_email)
    if email == user.email:
        raise ValidationFailed(_("This is already the account's email address."),
                               fields={"email": [_("This is already the account's email address.")]})  # fmt: skip
    if find_by_email(email):
        raise Conflict(_("Another account already uses this email address."), code="email_in_use",
                       fields={"email": [_("Another account already uses this email address.")]})  # fmt: skip
    # an earlier link for another address stops working: only the latest request counts
    db.session.execute(
        db.update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.CHANGE_EMAIL,
               AccountToken.used_at.is_(None))
        .values(expires_at=utcnow())
    )  # fmt: skip
    token, hashed = new_token()
    now = utcnow()
    db.session.add(AccountToken(token_hash=hashed, purpose=TokenPurpose.CHANGE_EMAIL, user_id=user.id, new_email=email,
                                created_at=now, expires_at=now + EMAIL_CHANGE_TTL))  # fmt: skip
    record(actor, "user.email_change_requested", "user", user.id, before={"email": user.email}, after={"email": email})
    link = external_url("users.confirm_email", token=token)
    mail.send(email, "account_email_confirm", user.locale, user=user, link=link, hours=48, new_email=email)
    _tell(user, "account_email_requested", new_email=email)


def email_change_request(token: str) -> AccountToken:
    """The open request a link stands for (nothing used up), or the link's problem."""
    from .services import _use_token

    return _use_token(token, TokenPurpose.CHANGE_EMAIL, consume=False)


@transactional
def confirm_email_change(token: str) -> User:
    """Apply the new address (the link proves it belongs to the person); the old one is told."""
    from .services import _use_token, _void_account_tokens, find_by_email

    row = _use_token(token, TokenPurpose.CHANGE_EMAIL)
    user = _lock_user(row.user)
    old = user.email
    if not row.new_email or find_by_email(row.new_email):
        raise Conflict(_("Another account already uses this email address."), code="email_in_use")
    user.email = row.new_email
    user.email_verified_at = utcnow()
    _void_account_tokens(user)  # links sent to the old address stop working
    db.session.execute(db.delete(UserSession).where(UserSession.user_id == user.id))  # log in with the new one
    record(user, "user.email_changed", "user", user.id, before={"email": old}, after={"email": user.email})
    _tell(user, "account_email_changed", to=old, new_email=user.email)
    return user


@transactional
def reset_two_factor(actor: User, user: User) -> None:
    """Another admin clears the person's authenticator and recovery codes (two_factor.py: their
    sessions end, the audit event is recorded there); the person is told."""
    from . import two_factor

    _require_admin(actor)
    two_factor.reset_two_factor(user, actor)
    _tell(user, "account_two_factor_reset")


def two_factor_enabled(user: User) -> bool:
    from . import two_factor

    return two_factor.is_enabled(user)
