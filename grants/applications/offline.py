"""Working without a connection: the service worker, the whole application form that can be
started and written on the device (kept there until the connection returns), a fresh CSRF
token for what the device sends later, and the page shown when a page was never visited."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf, validate_csrf

from ..calls import rules as call_rules
from ..consortia.rules import acts_for_lead, user_org_ids
from ..core.errors import ServiceError
from ..extensions import db
from ..i18n import display_zone
from . import services
from .formdata import FORM_SECTIONS, whole_form
from .sections import CATEGORIES, DECLARATIONS

bp = Blueprint("offline", __name__)
# Pages the service worker may keep on a device for use without a connection: what an applicant
# needs to write (never a manager's or reviewer's view of someone else's application).
KEPT_PAGES = {"calls.index", "calls.show", "applications.apply", "applications.mine", "applications.section",
              "applications.check", "offline.draft", "offline.offline", "home.home"}  # fmt: skip


@bp.after_app_request
def _mark_kept(response):
    if (
        response.status_code == 200
        and response.mimetype == "text/html"
        and (request.endpoint in KEPT_PAGES or g.get("offline_keep"))
    ):
        response.headers["X-Offline-Keep"] = "1"
    return response


@bp.route("/sw.js")
def service_worker():
    """Served from the root so that it may look after every page (its scope is "/")."""
    response = send_file(Path(current_app.static_folder) / "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
def offline():
    return render_template("applications/offline.html")


@bp.route("/session/csrf")
def csrf():
    """A fresh token for text kept on a device and sent later (its page may be days old)."""
    response = jsonify({"csrf_token": generate_csrf(), "signed_in": current_user.is_authenticated})
    response.headers["Cache-Control"] = "no-store"
    return response


def _leading(call):
    from ..consortia.services import consortia_of

    orgs = user_org_ids(current_user)
    return [c for c in consortia_of(current_user) if acts_for_lead(current_user, c, orgs)]


def _members(leading) -> list:
    return [m for c in leading for m in c.members]


def _render(call, leading, data, *, errors=None, status=200, consortium_id=None, message=None):
    blank = {"workplan": [{}], "budget_lines": [{}], "indicators": [{}], "partner_roles": {}, "declarations": {},
             "language": getattr(current_user, "locale", "ru")}  # fmt: skip
    return render_template(
        "applications/offline_draft.html", call=call, leading=leading, members=_members(leading),
        data=blank | data, errors=errors or {}, sections=FORM_SECTIONS, categories=CATEGORIES,
        declarations=DECLARATIONS, consortium_id=consortium_id, message=message, new_key=lambda: uuid.uuid4().hex,
    ), status  # fmt: skip


@bp.route("/calls/<int:call_id>/offline-draft", methods=["GET", "POST"])
@login_required
def draft(call_id: int):
    """GET: the whole form, cached by the service worker so that a draft can be started with no
    connection. POST: the draft written on the device, created and filled at once."""
    call = call_rules.get_call_or_404(call_id, current_user)
    leading = _leading(call)
    if request.method == "GET":
        return _render(call, leading, {}, consortium_id=request.args.get("consortium_id", type=int))
    as_json = request.headers.get("X-Autosave") == "1"
    validate_csrf(request.form.get("csrf_token"))
    consortium = next((c for c in leading if str(c.id) == request.form.get("consortium_id")), None)
    data = whole_form(request.form, consortium) if consortium else {}
    try:
        if consortium is None:
            from ..core.errors import ValidationFailed

            message = _("Choose a consortium that your organization leads.")
            raise ValidationFailed(message, fields={"consortium_id": [message]})
        version = request.form.get("version", "")
        app = services.start_offline(current_user, call, consortium, data, request.form.get("offline_key", ""),
                                     version=int(version) if version.isdigit() and len(version) < 10 else None)  # fmt: skip
    except ServiceError as error:
        db.session.rollback()
        if as_json:
            return jsonify({"error": {"code": error.code, "message": error.message, "fields": error.fields}}), (
                error.status
            )
        return _render(call, leading, data, errors=error.fields, status=error.status,
                       consortium_id=consortium.id if consortium else None, message=error.message)  # fmt: skip
    target = url_for("applications.check", app_id=app.id)
    if as_json:
        saved_at = app.updated_at.astimezone(display_zone()).strftime("%H:%M")
        return jsonify({"application_id": app.id, "version": app.version, "url": target, "saved_at": saved_at})
    return redirect(target, 303)
