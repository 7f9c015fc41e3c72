"""Security headers and the session loader that makes logout and password changes final."""

from __future__ import annotations

import hashlib
import secrets

from flask import Flask, Response, g, request, session
from flask_babel import lazy_gettext as _l

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


def start_session(user) -> None:
    """Sign the user in on this browser: a server-side record the cookie points to."""
    from flask_login import login_user

    from .accounts.models import UserSession

    token, hashed = new_token()
    db.session.add(UserSession(token_hash=hashed, user_id=user.id, ip=request.remote_addr))
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


@login_manager.user_loader
def load_user(user_id: str):
    from .accounts.models import UserSession

    sid = session.get("sid")
    if not sid:
        return None
    record = db.session.execute(db.select(UserSession).filter_by(token_hash=token_hash(sid))).scalar_one_or_none()
    if record is None or str(record.user_id) != user_id or not record.user.is_active:
        return None
    return record.user


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
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.session_protection = None  # sessions are server-side records instead
    app.after_request(_headers)
