"""Two-factor login: a TOTP authenticator (RFC 6238, 30-second steps, 6 digits) and ten one-time
recovery codes. Required for the roles in TWO_FACTOR_REQUIRED_ROLES (managers and admins),
optional for everyone else. Time is the programme clock, so tests can travel.

Rules enforced here:
- a code is accepted for the current step or one step either side (clock drift), and only for a
  step after the last accepted one (the row is locked first): a code is never accepted twice;
- a recovery code works once (a single conditional UPDATE marks it used);
- only SHA-256 hashes of recovery codes are stored; the codes are shown once."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

import pyotp
import segno
from flask import current_app
from flask_babel import gettext as _

from ..audit.services import record
from ..core import clock
from ..core.db import keep_on_refusal, locked_get, transactional
from ..core.errors import Conflict, Forbidden, ServiceError, Unauthorized, ValidationFailed
from ..extensions import db
from ..security import second_factor_required, token_hash
from .models import ApiToken, RecoveryCode, TwoFactor, User, UserSession

STEP_SECONDS = 30
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed from paper


def new_secret() -> str:
    return pyotp.random_base32()  # 32 characters, 160 bits


def grouped(secret: str) -> str:
    """'ABCD EFGH …': easier to type into an authenticator app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(user: User, secret: str) -> str:
    issuer = current_app.config.get("TWO_FACTOR_ISSUER", "Grants")
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """An SVG data URI: shown by <img>, allowed by the CSP (img-src data:), no JavaScript."""
    return segno.make(uri, error="m").svg_data_uri(scale=4, border=2)


def of(user: User) -> TwoFactor | None:
    return db.session.get(TwoFactor, user.id)


def is_enabled(user: User) -> bool:
    return of(user) is not None


def required(user: User) -> bool:
    return second_factor_required(user)


def remaining_recovery_codes(user: User) -> int:
    return db.session.execute(
        db.select(db.func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).scalar_one()


def _step(moment=None) -> int:
    return int((moment or clock.now()).timestamp()) // STEP_SECONDS


def code_at(secret: str, moment=None) -> str:
    """The code an authenticator shows at `moment` (tests and the demo instructions use it)."""
    return pyotp.TOTP(secret).generate_otp(_step(moment))


def _normalize(code) -> str:
    return "".join(str(code or "").split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, after: int) -> int | None:
    if len(code) != 6 or not code.isdigit():
        return None
    totp, now = pyotp.TOTP(secret), _step()
    for step in (now - 1, now, now + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _wrong_code() -> ServiceError:
    return ServiceError(
        _("This code is not right, or it has been used already. Enter the current code from your app."),
        code="invalid_code",
        fields={"code": [_("Wrong or used code.")]},
    )


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _i in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=token_hash(raw), created_at=clock.now()))
    return codes


def _check_password(user: User, password: str) -> None:
    from .services import password_matches

    if not password_matches(user, password):
        raise ValidationFailed(_("The password is wrong."), fields={"password": [_("Wrong password.")]})


@transactional
def enable(user: User, *, secret: str, code: str, password: str | None = None) -> list[str]:
    """Turn TOTP on once a code from the new secret proves the app has it; returns the ten
    recovery codes (shown once). From the account page the password is asked too."""
    if password is not None:
        _check_password(user, password)
    locked_get(User, user.id)  # two set-ups at once: the second waits, then finds the first
    if not secret or db.session.get(TwoFactor, user.id, populate_existing=True) is not None:
        raise Conflict(_("Two-factor login is already on for this account."), code="two_factor_enabled")
    step = _matching_step(secret, _normalize(code), after=0)
    if step is None:
        raise _wrong_code()
    db.session.add(TwoFactor(user_id=user.id, secret=secret, enabled_at=clock.now(), last_step=step))
    codes = _new_recovery_codes(user)
    record(user, "user.two_factor_enabled", "user", user.id)
    _tell(user, "enabled")
    return codes


class Locked(ServiceError):
    status = 429
    code = "two_factor_locked"


MAX_FAILURES = 10  # wrong codes in a row before the account's second step locks
LOCK_TIME = timedelta(hours=1)


def _tell(user: User, event: str, **context) -> None:
    """Email the person about a change to their second factor (someone else may hold the password)."""
    from .. import mail
    from ..core.urls import external_url

    mail.send(user.email, "two_factor_notice", user.locale, user=user, event=event,
              link=external_url("accounts.account"), **context)  # fmt: skip


def _failed(user: User, row: TwoFactor) -> ServiceError:
    """Count a wrong code against the account, whatever address or route it came from: after
    MAX_FAILURES in a row the second step locks for LOCK_TIME and the person is told. Kept although
    the request is refused."""
    keep_on_refusal()
    row.failures += 1
    if row.failures >= MAX_FAILURES:
        row.failures = 0
        row.locked_until = clock.now() + LOCK_TIME
        record(None, "user.two_factor_locked", "user", user.id)
        _tell(user, "locked", failures=MAX_FAILURES, until=row.locked_until)
        return _locked(row)
    return _wrong_code()


def _locked(row: TwoFactor) -> ServiceError:
    from ..i18n import format_datetime

    return Locked(
        _("Too many wrong codes: two-factor login for this account is locked until %(when)s. We have emailed you.",
          when=format_datetime(row.locked_until)),
        fields={"code": [_("Locked for now.")]},
    )  # fmt: skip


@transactional
def verify(user: User, code: str) -> str:
    """The second step of a login: a TOTP code or a recovery code. Returns which one was used."""
    row = locked_get(TwoFactor, user.id)
    if row is None:
        raise _wrong_code()
    if row.locked_until is not None and clock.now() < row.locked_until:
        raise _locked(row)
    try:
        secret = row.secret
    except ValueError:  # sealed under another SECRET_KEY: the authenticator must be set up again
        raise Conflict(_("Your two-factor login must be set up again: ask an administrator to reset it."),
                       code="two_factor_unreadable") from None  # fmt: skip
    normalized = _normalize(code)
    step = _matching_step(secret, normalized, after=row.last_step)
    if step is not None:
        row.last_step = step
        row.failures = 0
        return "totp"
    if len(normalized) == 10:
        used = db.session.execute(
            db.update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == token_hash(normalized),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=clock.now())
        )
        if used.rowcount == 1:
            row.failures = 0
            record(user, "user.recovery_code_used", "user", user.id)
            _tell(user, "recovery_used", left=remaining_recovery_codes(user))
            return "recovery"
    raise _failed(user, row)


@transactional
def regenerate_recovery_codes(user: User, *, password: str, code: str) -> list[str]:
    """Ten new codes; the old ones stop working. The password and a current code are both asked: a
    stolen session and a known password alone never give a lasting way round the second factor."""
    _check_password(user, password)
    if of(user) is None:
        raise Conflict(_("Two-factor login is off for this account."), code="two_factor_disabled")
    verify(user, code)
    codes = _new_recovery_codes(user)
    record(user, "user.recovery_codes_regenerated", "user", user.id)
    _tell(user, "regenerated")
    return codes


def _remove(user: User) -> None:
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(db.delete(TwoFactor).where(TwoFactor.user_id == user.id))


@transactional
def disable(user: User, *, password: str, code: str) -> None:
    """Only where the role does not require it; password and a current code are both asked."""
    if required(user):
        raise Forbidden(_("Your role requires two-factor login; it cannot be turned off."), code="two_factor_required")
    _check_password(user, password)
    verify(user, code)
    _remove(user)
    record(user, "user.two_factor_disabled", "user", user.id)


@transactional
def reset_two_factor(user: User, actor: User) -> None:
    """An admin's reset for a person who lost their authenticator: TOTP and recovery codes are
    removed and the person's sessions end, so the next login sets TOTP up again (when the role
    requires it). Another admin only: nobody resets their own."""
    if actor.id == user.id:
        raise Forbidden(_("Another administrator must reset your two-factor login."), code="own_two_factor")
    if not actor.is_admin:
        raise Forbidden(_("Only an administrator can reset two-factor login."))
    had = of(user) is not None
    _remove(user)
    db.session.execute(db.delete(UserSession).where(UserSession.user_id == user.id))
    db.session.execute(db.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))  # fmt: skip
    record(actor, "user.two_factor_reset", "user", user.id, before={"two_factor": had}, after={"two_factor": False})


def check_api_login(user: User, otp) -> bool:
    """POST /api/v1/auth/token: a user with TOTP sends the current code (or a recovery code). A
    manager or admin without TOTP gets no token: their second factor is set up on the website first
    (a password alone never opens a role that decides on money)."""
    if of(user) is None:
        if required(user):
            raise Forbidden(_("Your role needs two-factor login: set it up on the website (log in there), "
                              "then ask for a token with the code."), code="two_factor_setup_required")  # fmt: skip
        return False
    if otp is None or otp == "":
        raise Unauthorized(
            _("This account uses two-factor login: send the code from your authenticator app as “otp”."),
            code="otp_required",
        )
    if not isinstance(otp, str):
        raise ValidationFailed(_("Send the code as text."), fields={"otp": [_("Not a valid string.")]})
    try:
        verify(user, otp)
    except (Locked, Conflict):
        raise
    except ServiceError as error:
        raise Unauthorized(error.message, code="invalid_otp") from None
    return True


@transactional
def enable_with_known_secret(user: User, secret: str) -> list[str]:
    """Set-up only (the demo data, whose managers' secrets are printed in the README): TOTP on with
    a given secret, no code asked. Returns the recovery codes."""
    pyotp.TOTP(secret).now()  # refuses a secret that is not base32
    _remove(user)
    db.session.add(TwoFactor(user_id=user.id, secret=secret, enabled_at=clock.now(), last_step=0))
    codes = _new_recovery_codes(user)
    record(None, "user.two_factor_enabled", "user", user.id)
    return codes
