"""View decorators for roles. Object-level rules live in each domain's rules.py."""

from __future__ import annotations

import re
from functools import wraps
from urllib.parse import unquote, urlsplit

from flask import abort
from flask_login import current_user, login_required


def role_required(*roles):
    """Signed-in users with one of the roles; others get 404, as if the page did not exist."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site, so a crafted link cannot send people elsewhere after log-in or a
    language switch (ASVS V3.7.2). Browsers drop tabs and newlines from URLs, read a backslash as
    a slash and some servers decode %-escapes again, so "/\t/evil.example" or "/%5Cevil.example"
    can become "//evil.example". Refused: any control character or backslash; in the path, as
    sent and with its %-escapes decoded (repeatedly), any whitespace, control character or
    backslash, or a start of "//". What is left must parse to a path with neither scheme nor host."""
    if not target or len(target) > 2000 or not target.startswith("/") or _CONTROL.search(target):
        return default
    path = re.split(r"[?#]", target, maxsplit=1)[0]
    decoded = path
    for _round in range(3):  # "%252F" is "%2F" once decoded, "/" twice
        decoded = unquote(decoded)
    for form in (path, decoded):
        if form.startswith("//") or _CONTROL.search(form) or _SPACE.search(form):
            return default
    try:
        parts = urlsplit(target)
    except ValueError:
        return default
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return default
    return target


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\\\u2028\u2029\ufeff]")  # control characters, the backslash
_SPACE = re.compile(r"[\s\x85\xa0\u1680\u180e\u2000-\u200f\u202f\u205f-\u206f\u3000]")  # any whitespace
