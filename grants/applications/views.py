from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf

from ..calls import rules as call_rules
from ..consortia.rules import acts_for_lead, user_org_ids
from ..core import uploads
from ..core.errors import ServiceError
from ..extensions import db
from ..i18n import current_locale, display_zone
from . import lifecycle, rules, services
from .formdata import SECTION_ROWS, partner_ids, section_data
from .help import section_help
from .sections import ATTACHMENT_KINDS, CATEGORIES, DECLARATIONS, SECTIONS

bp = Blueprint("applications", __name__)


@bp.app_context_processor
def _helpers():
    return {"app_status": lifecycle.label, "SECTIONS": SECTIONS, "access_action": _access_action,
            "app_editable": lifecycle.is_editable, "app_can_edit": rules.can_edit, "app_can_submit": rules.can_submit,
            "app_can_withdraw": rules.can_withdraw, "app_can_read_result": rules.can_read_result,
            "app_can_read_eligibility": rules.can_read_eligibility}  # fmt: skip


def _access_action(action: str) -> str:
    return {"view": _("opened the application"), "pdf": _("downloaded the PDF"),
            "attachment": _("downloaded an attachment")}.get(action, action)  # fmt: skip


@bp.route("/applications")
@login_required
def mine():
    return render_template("applications/mine.html", applications=services.applications_of(current_user))


@bp.route("/calls/<int:call_id>/apply", methods=["GET", "POST"])
@login_required
def apply(call_id: int):
    from ..consortia.services import consortia_of

    call = call_rules.get_call_or_404(call_id, current_user)
    orgs = user_org_ids(current_user)
    leading = [c for c in consortia_of(current_user) if acts_for_lead(current_user, c, orgs)]
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        consortium = next((c for c in leading if str(c.id) == request.form.get("consortium_id")), None)
        if consortium is None:
            flash(_("Choose a consortium that your organization leads."), "error")
            return render_template("applications/apply.html", call=call, leading=leading), 422
        try:
            app = services.create(current_user, call, consortium)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("applications/apply.html", call=call, leading=leading), error.status
        return redirect(url_for("applications.section", app_id=app.id, section="summary"))
    return render_template("applications/apply.html", call=call, leading=leading)


def _opened(app_id: int, action: str, kind: str = "view"):
    """Fetch with access rules; log openings by outsiders (a sealed one asks for a reason)."""
    app, found = rules.get_application_or_404(app_id, current_user, action)
    if found.outsider:
        # A reason only from a posted form (the caller checks its CSRF token): a link from another site
        # can neither open a sealed application nor log a reason in a manager's name (ASVS 5.0 V3.5.3).
        reason = request.form.get("reason", "") if request.method == "POST" else ""
        try:
            services.log_access(current_user, app, found, kind, reason)
        except ServiceError as error:
            db.session.rollback()
            # Asking for the reason is a form (200); a posted form without a usable reason is 422.
            status = 422 if request.method == "POST" else 200
            return None, found, (render_template("applications/sealed.html", app=app, message=error.message,
                                                 next=request.path), status)  # fmt: skip
    return app, found, None


@bp.route("/applications/<int:app_id>", methods=["GET", "POST"])
@login_required
def show(app_id: int):
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
    app, found, refusal = _opened(app_id, "view")
    if refusal:
        return refusal
    problems = services.problems(app) if found.member else []
    g.offline_keep = found.member  # the consortium's own view may be kept on its device (offline.py)
    by_section = {s: [m for sec, m in problems if sec == s] for s in SECTIONS}
    return render_template(
        "applications/show.html", app=app, found=found, by_section=by_section, problems=problems,
        submissions=services.submissions(app), content=services.content(app), categories=CATEGORIES,
        declarations=DECLARATIONS, kinds=ATTACHMENT_KINDS,
    )  # fmt: skip


def _render_section(app, section, data, *, errors=None, conflict=None, status=200, version=None):
    howto, example = section_help(app.call, section, current_locale())
    saved = services.content(app)
    return render_template(
        "applications/section.html", app=app, section=section, data=saved | data, errors=errors or {},
        conflict=conflict, version=version or app.version, howto=howto, example=example, categories=CATEGORIES,
        declarations=DECLARATIONS, kinds=ATTACHMENT_KINDS, editable=lifecycle.is_editable(app),
        saved_at=app.updated_at.astimezone(display_zone()).strftime("%H:%M"),
    ), status  # fmt: skip


@bp.route("/applications/<int:app_id>/edit/<section>", methods=["GET", "POST"])
@login_required
def section(app_id: int, section: str):
    if section not in SECTIONS:
        abort(404)
    app, _found = rules.get_application_or_404(app_id, current_user, "edit")
    autosave = request.headers.get("X-Autosave") == "1"
    if request.method == "GET":
        return _render_section(app, section, {})
    validate_csrf(request.form.get("csrf_token"))
    data = section_data(section, request.form, partner_ids(app.consortium))
    action = request.form.get("action", "save")
    rows = SECTION_ROWS.get(section)
    if rows and (action == "add_row" or action.startswith("remove_row-")):
        current = data[rows]
        if action == "add_row":
            current.append({})
        elif action.split("-", 1)[1].isdigit() and int(action.split("-", 1)[1]) < len(current):
            del current[int(action.split("-", 1)[1])]
        return _render_section(app, section, data, version=request.form.get("version"))
    try:
        services.save(current_user, app, data, version=request.form.get("version"))
    except ServiceError as error:
        db.session.rollback()
        if autosave:
            return jsonify({"error": {"code": error.code, "message": error.message, "fields": error.fields},
                            "version": error.extra.get("current_version")}), error.status  # fmt: skip
        if error.code == "stale_version":
            return _render_section(app, section, data, conflict=error, status=409, version=app.version)
        return _render_section(app, section, data, errors=error.fields, status=error.status,
                               version=request.form.get("version"))  # fmt: skip
    saved_at = app.updated_at.astimezone(display_zone()).strftime("%H:%M")
    if autosave:
        return jsonify({"version": app.version, "saved_at": saved_at})
    flash(_("Saved at %(time)s.", time=saved_at), "success")
    target = request.form.get("next")
    if target == "check":
        return redirect(url_for("applications.check", app_id=app.id))
    return redirect(url_for("applications.section", app_id=app.id, section=target if target in SECTIONS else section))


@bp.route("/applications/<int:app_id>/check", methods=["GET", "POST"])
@login_required
def check(app_id: int):
    app, found = rules.get_application_or_404(app_id, current_user, "edit")
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        try:
            submission = services.submit(current_user, app)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("applications/check.html", app=app, found=found,
                                   problems=services.problems(app)), error.status  # fmt: skip
        flash(_("Submitted. Receipt %(number)s.", number=submission.receipt_number), "success")
        return redirect(url_for("applications.show", app_id=app.id))
    return render_template("applications/check.html", app=app, found=found, problems=services.problems(app))


@bp.route("/applications/<int:app_id>/withdraw", methods=["POST"])
@login_required
def withdraw(app_id: int):
    app, _found = rules.get_application_or_404(app_id, current_user, "edit")
    validate_csrf(request.form.get("csrf_token"))
    try:
        services.withdraw(current_user, app)
    except ServiceError as error:
        db.session.rollback()
        if error.status == 403:  # not theirs to do: an error page, not a flash on the same page
            return render_template("error.html", status=403, message=error.message), 403
        flash(error.message, "error")
        return redirect(url_for("applications.show", app_id=app.id)), 303
    flash(_("The application is withdrawn. You can change it and submit it again before the deadline."), "success")
    return redirect(url_for("applications.show", app_id=app.id))


@bp.route("/applications/<int:app_id>/attachments", methods=["POST"])
@login_required
def upload(app_id: int):
    app, _found = rules.get_application_or_404(app_id, current_user, "edit")
    validate_csrf(request.form.get("csrf_token"))
    try:
        services.add_attachment(current_user, app, request.files.get("file"), request.form.get("kind", "other"))
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render_section(app, "attachments", {}, errors=error.fields, status=error.status)
    flash(_("The file is attached."), "success")
    return redirect(url_for("applications.section", app_id=app.id, section="attachments"))


@bp.route("/applications/<int:app_id>/attachments/<int:attachment_id>/delete", methods=["POST"])
@login_required
def delete_attachment(app_id: int, attachment_id: int):
    app, _found = rules.get_application_or_404(app_id, current_user, "edit")
    validate_csrf(request.form.get("csrf_token"))
    try:
        services.remove_attachment(current_user, app, attachment_id)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("applications.section", app_id=app.id, section="attachments"))


@bp.route("/applications/<int:app_id>/attachments/<int:attachment_id>", methods=["GET", "POST"])
@login_required
def attachment(app_id: int, attachment_id: int):
    if request.method == "POST":  # a sealed application's file: the reason is posted again
        validate_csrf(request.form.get("csrf_token"))
    app, _found, refusal = _opened(app_id, "view", "attachment")
    if refusal:
        return refusal
    item = next((a for a in app.attachments if a.id == attachment_id), None)
    if item is None:
        abort(404)
    return uploads.send(item.path, name=item.filename, content_type=item.content_type)


@bp.route("/applications/<int:app_id>/access-log")
@login_required
def access_log(app_id: int):
    app, _found = rules.get_application_or_404(app_id, current_user, "edit")
    return render_template("applications/access_log.html", app=app, entries=services.access_log(app))


def _pdf(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": uploads.content_disposition(filename), "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})  # fmt: skip


@bp.route("/applications/<int:app_id>/application.pdf", methods=["GET", "POST"])
@login_required
def application_pdf(app_id: int):
    from .pdf import application_pdf as render

    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
    app, _found, refusal = _opened(app_id, "view", "pdf")
    if refusal:
        return refusal
    return _pdf(render(app, current_locale()), f"application-{app.id}.pdf")


@bp.route("/applications/<int:app_id>/receipt.pdf")
@login_required
def receipt_pdf(app_id: int):
    from .pdf import receipt_pdf as render

    app, found = rules.get_application_or_404(app_id, current_user, "edit")
    submission = services.latest_submission(app)
    if submission is None:
        abort(404)
    return _pdf(render(app, submission, current_locale()), f"receipt-{submission.receipt_number}.pdf")


@bp.route("/calls/<int:call_id>/form.pdf")
def blank_form(call_id: int):
    from .pdf import blank_form_pdf

    call = call_rules.get_call_or_404(call_id, current_user)
    return _pdf(blank_form_pdf(call, current_locale()), f"{call.code}-form.pdf")
