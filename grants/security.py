"""Security headers and the session loader that makes logout and password changes final."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import Flask, Response, current_app, g, request, session
from flask_babel import lazy_gettext as _l

from .core import clock
from .extensions import db, login_manager

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A random URL-safe token and the SHA-256 we store instead of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


# Lifetimes (config keys; "staff" means the manager and admin roles). The absolute lifetime counts
# from sign-in and is never extended; the idle timeout counts from the last request.
SESSION_DEFAULTS = {
    "SESSION_ABSOLUTE_LIFETIME": timedelta(days=14),
    "SESSION_ABSOLUTE_LIFETIME_STAFF": timedelta(hours=12),
    "SESSION_IDLE_TIMEOUT": timedelta(days=3),
    "SESSION_IDLE_TIMEOUT_STAFF": timedelta(hours=2),
    "TWO_FACTOR_REQUIRED_ROLES": ("manager", "admin"),
}
LAST_SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session


def _is_staff(user) -> bool:
    return user.is_manager


def session_limits(user) -> tuple[timedelta, timedelta]:
    """(absolute lifetime, idle timeout) for the user's current roles."""
    config = current_app.config
    if _is_staff(user):
        return config["SESSION_ABSOLUTE_LIFETIME_STAFF"], config["SESSION_IDLE_TIMEOUT_STAFF"]
    return config["SESSION_ABSOLUTE_LIFETIME"], config["SESSION_IDLE_TIMEOUT"]


def session_alive(record, now: datetime) -> bool:
    """Within both lifetimes. The role's limits are asked again on every use, so a role granted
    mid-session shortens the session at once."""
    absolute, idle = session_limits(record.user)
    return now < min(record.expires_at, record.created_at + absolute) and now < record.last_seen_at + idle


def user_agent_summary(header: str | None) -> str:
    """'Firefox on Windows': enough to recognise a device in the list, nothing more."""
    text = header or ""
    browser = next(
        (name for token, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("YaBrowser", "Yandex Browser"),
                                  ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
         if token in text),
        "",
    )  # fmt: skip
    system = next(
        (name for token, name in (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                  ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux"))
         if token in text),
        "",
    )  # fmt: skip
    if browser and system:
        return f"{browser} / {system}"
    return (browser or system or text[:60]).strip()[:120]


def purge_expired_sessions(now: datetime | None = None) -> int:
    """Delete sessions past their absolute end or idle beyond the longest idle timeout (the shorter
    staff timeout is enforced on use, and their absolute end comes within hours anyway)."""
    from .accounts.models import UserSession

    now = now or clock.now()
    idle = max(current_app.config["SESSION_IDLE_TIMEOUT"], current_app.config["SESSION_IDLE_TIMEOUT_STAFF"])
    result = db.session.execute(
        db.delete(UserSession).where(db.or_(UserSession.expires_at <= now, UserSession.last_seen_at <= now - idle))
    )
    return result.rowcount or 0


def start_session(user, *, second_factor: bool = False) -> None:
    """Sign the user in on this browser: a server-side record the cookie points to, with an
    absolute end fixed now. Expired sessions of everyone are purged here (a cheap indexed delete)."""
    from flask_login import login_user

    from .accounts.models import UserSession

    now = clock.now()
    purge_expired_sessions(now)
    absolute, _idle = session_limits(user)
    token, hashed = new_token()
    db.session.add(
        UserSession(
            token_hash=hashed, user_id=user.id, ip=request.remote_addr, created_at=now, last_seen_at=now,
            expires_at=now + absolute, user_agent=user_agent_summary(request.user_agent.string),
            second_factor=second_factor,
        )
    )  # fmt: skip
    session.clear()
    session.permanent = True
    session["sid"] = token
    login_user(user)


def end_session() -> None:
    from flask_login import logout_user

    from .accounts.models import UserSession

    sid = session.get("sid")
    if sid:
        UserSession.query.filter_by(token_hash=token_hash(sid)).delete()
    logout_user()
    session.clear()


def current_session():
    """This browser's session record (loaded with the user on this request), or None."""
    return g.get("user_session")


@login_manager.user_loader
def load_user(user_id: str):
    from .accounts.models import UserSession

    sid = session.get("sid")
    if not sid:
        return None
    record = db.session.execute(db.select(UserSession).filter_by(token_hash=token_hash(sid))).scalar_one_or_none()
    if record is None or str(record.user_id) != user_id or not record.user.is_active:
        return None
    now = clock.now()
    if not session_alive(record, now):
        # Refused and deleted (kept when the request answers a redirect to the login page; else
        # the next sign-in's purge removes it).
        db.session.delete(record)
        session.pop("sid", None)
        g.session_expired = True
        return None
    if now - record.last_seen_at >= LAST_SEEN_EVERY:
        record.last_seen_at = now  # stored by the request's one commit
    g.user_session = record
    return record.user


def sessions_of(user) -> list:
    """The user's live sessions, newest activity first (expired ones are not shown)."""
    from .accounts.models import UserSession

    now = clock.now()
    rows = db.session.execute(
        db.select(UserSession).filter_by(user_id=user.id).order_by(UserSession.last_seen_at.desc())
    ).scalars()
    return [row for row in rows if session_alive(row, now)]


def end_user_session(user, session_id: int) -> bool:
    """End one of the user's own sessions (another person's id ends nothing)."""
    from .accounts.models import UserSession
    from .audit.services import record

    ended = db.session.execute(
        db.delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
    ).rowcount
    if ended:
        record(user, "user.session_ended", "user", user.id, after={"session": session_id})
    return bool(ended)


def end_other_sessions(user) -> int:
    """Log out everywhere else: every session of the user but this browser's."""
    from .accounts.models import UserSession
    from .audit.services import record

    this = current_session()
    query = db.delete(UserSession).where(UserSession.user_id == user.id)
    if this is not None:
        query = query.where(UserSession.id != this.id)
    ended = db.session.execute(query).rowcount or 0
    record(user, "user.sessions_ended", "user", user.id, after={"count": ended})
    return ended


def second_factor_required(user) -> bool:
    roles = set(current_app.config["TWO_FACTOR_REQUIRED_ROLES"])
    return bool({role.value for role in user.roles} & roles)


def _require_second_factor():
    """A session without a second factor for a role that requires one (a role granted while signed
    in, or a session from before) ends here: the next login asks for TOTP, or sets it up."""
    from flask import flash, redirect, url_for
    from flask_babel import gettext
    from flask_login import current_user

    if request.endpoint in ("static", "accounts.logout") or not session.get("sid"):
        return None
    record = current_session() if current_user.is_authenticated else None
    if record is None or record.second_factor or not second_factor_required(current_user):
        return None
    from .core.db import end_unit

    end_session()
    end_unit(success=True)  # this before_request answers instead of a view: its unit of work ends here
    flash(gettext("Please log in again: your role requires two-factor login."), "info")
    return redirect(url_for("accounts.login", next=request.full_path if request.method == "GET" else None))


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if "Cache-Control" not in headers and (request.path.startswith("/api/") or response.is_json):
        headers["Cache-Control"] = "no-store"  # API answers carry personal data (ASVS V14.3.2)
    if response.mimetype == "text/html":
        if "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store" if session.get("sid") else "no-cache"
        # The service worker keeps some pages for use without a connection (offline.py) and drops
        # them all when a page answers for nobody (logged out, session ended or revoked) or for
        # another person than the one they were kept for.
        user = g.get("_login_user")  # as the page saw it (not loaded again after an error)
        if user is not None:
            headers["X-Signed-In"] = str(user.id) if user.is_authenticated else "0"
    return response


def init_app(app: Flask) -> None:
    for key, value in SESSION_DEFAULTS.items():
        app.config.setdefault(key, value)
    app.before_request(_require_second_factor)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.session_protection = None  # sessions are server-side records instead
    app.after_request(_headers)
    _trust_proxies(app)


def _trust_proxies(app: Flask) -> None:
    """Behind a TLS-terminating reverse proxy, GRANTS_PROXY_COUNT (config PROXY_COUNT) says how
    many proxies are trusted to set X-Forwarded-For and X-Forwarded-Proto: then an https request
    is seen as secure (HSTS is sent, ASVS V3.4.1) and the client's address is the proxy's report.
    0 (the default) trusts no such header, so a client cannot forge them."""
    import os

    from werkzeug.middleware.proxy_fix import ProxyFix

    count = int(app.config.get("PROXY_COUNT") or os.environ.get("GRANTS_PROXY_COUNT") or 0)
    app.config["PROXY_COUNT"] = count
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
