"""Pages of clarification requests: the thread of one application (ask, answer, close), and the
download of an answer's file. Plain forms: everything works without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf

from ..core import uploads
from ..core.errors import ServiceError
from ..extensions import db
from . import lifecycle, rules, services

bp = Blueprint("clarifications", __name__)


@bp.app_context_processor
def _helpers():
    return {"clarification_status": lifecycle.label, "clarification_thread": services.thread,
            "clarification_can_answer": rules.can_answer, "clarification_can_close": rules.can_close,
            "clarification_is_late": rules.is_late, "clarification_is_closed": lifecycle.is_closed}  # fmt: skip


def _render(app, seen, *, errors=None, form=None, target=None, status=200):
    return render_template("clarifications/thread.html", app=app, seen=seen, items=services.thread(app),
                           can_ask=rules.can_ask(seen, app), errors=errors or {}, form=form or {},
                           target=target), status  # fmt: skip


@bp.route("/applications/<int:app_id>/clarifications")
@login_required
def thread(app_id: int):
    app, seen = rules.get_application_or_404(app_id, current_user)
    return _render(app, seen)


@bp.route("/applications/<int:app_id>/clarifications/ask", methods=["POST"])
@login_required
def ask(app_id: int):
    app, seen = rules.get_application_or_404(app_id, current_user)
    if not seen.manager:
        abort(404)
    validate_csrf(request.form.get("csrf_token"))
    try:
        services.ask(current_user, app, question=request.form.get("question"), reply_by=request.form.get("reply_by"))
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render(app, seen, errors=error.fields, form=request.form, status=error.status)
    flash(_("The request is sent. The lead organization's members were emailed."), "success")
    return redirect(url_for("clarifications.thread", app_id=app.id))


@bp.route("/clarifications/<int:clarification_id>/reply", methods=["POST"])
@login_required
def reply(clarification_id: int):
    item, seen = rules.get_clarification_or_404(clarification_id, current_user)
    if not seen.lead:
        abort(404)
    validate_csrf(request.form.get("csrf_token"))
    app = item.application
    try:
        answer = services.reply(current_user, item, text=request.form.get("text"), files=request.files.getlist("file"))
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render(app, seen, errors=error.fields, form=request.form, target=item.id, status=error.status)
    flash(_("Your answer is added to the application. Its SHA-256: %(sha)s", sha=answer.sha256), "success")
    return redirect(url_for("clarifications.thread", app_id=app.id) + f"#clarification-{item.id}")


@bp.route("/clarifications/<int:clarification_id>/close", methods=["POST"])
@login_required
def close(clarification_id: int):
    item, seen = rules.get_clarification_or_404(clarification_id, current_user)
    if not seen.manager:
        abort(404)
    validate_csrf(request.form.get("csrf_token"))
    try:
        services.close(current_user, item)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render(item.application, seen, status=error.status)
    flash(_("The request is closed."), "success")
    return redirect(url_for("clarifications.thread", app_id=item.application_id))


@bp.route("/clarifications/<int:clarification_id>/files/<int:file_id>")
@login_required
def reply_file(clarification_id: int, file_id: int):
    stored, seen = rules.get_file_or_404(clarification_id, file_id, current_user)
    name = stored.filename if not seen.blind else _("Addendum file %(n)d", n=stored.id) + _extension(stored.filename)
    return uploads.send(stored.path, name=name, content_type=stored.content_type)


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""
