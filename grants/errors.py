"""Error pages in the user's language; the API answers in its JSON error format."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from .extensions import db


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have access to this page."),
        404: _("Page not found. It may have been moved, or you may not have access to it."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large (10 MB at most)."),
        415: _("This file type is not accepted."),
        422: _("Please correct the marked fields."),
        429: _("Too many attempts. Please wait a few minutes and try again."),
        500: _("Something went wrong on our side. Your data is safe; please try again later."),
    }


def _is_api() -> bool:
    return request.path.startswith("/api/")


def handle_http(error: HTTPException):
    status = error.code or 500
    message = _messages().get(status) or error.description
    # A 405 names the methods the URL allows (RFC 9110); werkzeug's own headers (Allow,
    # Retry-After, WWW-Authenticate) are kept, its Content-Type is not.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if _is_api():
        from .api.core import error_response

        codes = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                 415: "unsupported_media_type", 429: "rate_limited", 400: "bad_request"}  # fmt: skip
        return (*error_response(status, codes.get(status, "error"), message), headers)
    return render_template("error.html", status=status, message=message), status, headers


def handle_csrf(error: CSRFError):
    message = _("The form has expired or was sent from elsewhere. Please reload the page and send it again.")
    return render_template("error.html", status=400, message=message), 400


def handle_integrity(error: Exception):
    """A unique or check constraint refused the request's one commit: another request got there
    first (a double click, two managers at once). Nothing of this request was stored."""
    db.session.rollback()
    message = _(
        "Someone else changed this at the same moment, so nothing was saved. Please reload the page and try again."
    )
    if _is_api():
        from .api.core import error_response

        return error_response(409, "conflict", message)
    return render_template("error.html", status=409, message=message), 409


def handle_unexpected(error: Exception):
    db.session.rollback()
    from flask import current_app

    current_app.logger.exception("unhandled error")
    if _is_api():
        from .api.core import error_response

        return error_response(500, "internal_error", _messages()[500])
    return render_template("error.html", status=500, message=_messages()[500]), 500


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(IntegrityError, handle_integrity)
    app.register_error_handler(Exception, handle_unexpected)
