from __future__ import annotations

import math

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..accounts.models import Role
from ..core import clock, uploads
from ..core.access import role_required
from ..core.errors import ServiceError
from ..extensions import db
from ..i18n import current_locale
from ..organizations.reference import REGIONS
from . import feeds, lifecycle, rules, services
from .forms import CallForm, edit_rows, formdata_from_call
from .lifecycle import Status
from .models import Call

bp = Blueprint("calls", __name__)


def closes_in(call: Call) -> str:
    remaining = call.closes_at - clock.now()
    if remaining.total_seconds() <= 0:
        return _("closed")
    if remaining.total_seconds() < 86400:
        hours = max(1, math.ceil(remaining.total_seconds() / 3600))
        return ngettext("closes in %(num)d hour", "closes in %(num)d hours", hours)
    days = math.ceil(remaining.total_seconds() / 86400)
    return ngettext("closes in %(num)d day", "closes in %(num)d days", days)


@bp.app_context_processor
def _helpers():
    return {
        "call_label": lifecycle.label, "closes_in": closes_in, "CALL_STATUS": Status, **rules.template_helpers(),
    }  # fmt: skip


# --- public ------------------------------------------------------------------------------


@bp.route("/calls")
def index():
    region = request.args.get("region") or None
    theme = request.args.get("theme") or None
    if region and region not in REGIONS:
        region = None
    groups = services.public_calls(region=region, theme=theme)
    return render_template("calls/index.html", groups=groups, region=region, theme=theme, themes=services.themes())


@bp.route("/calls/<int:call_id>")
def show(call_id: int):
    call = rules.get_call_or_404(call_id, current_user)
    from ..subscriptions.forms import SubscribeForm

    form = SubscribeForm(themes=services.themes())
    form.language.data = current_locale()
    form.regions.data = call.regions
    form.themes.data = [t.code for t in call.themes]
    check, status = _eligibility_check(call)
    return render_template(
        "calls/show.html", call=call, corrections=services.corrections(call), form=form,
        upcoming=lifecycle.is_upcoming(call), check=check,
    ), status  # fmt: skip


def _eligibility_check(call: Call) -> tuple[dict | None, int]:
    """The call page's "Can we apply?": a GET form (?check=1&organization_id=…&consortium_members=…
    &requested_amount=…) for signed-in members of an organization; the answer is calls.eligibility's."""
    from ..organizations.services import organizations_of
    from . import eligibility

    if not current_user.is_authenticated:
        return None, 200
    orgs = [org for org, _role in organizations_of(current_user)]
    check = {"orgs": orgs, "given": request.args, "errors": {}, "result": None}
    if not orgs or not request.args.get("check"):
        return check, 200
    org = next((o for o in orgs if str(o.id) == request.args.get("organization_id")), None)
    try:
        answers = eligibility.clean_answers(request.args.to_dict())
    except ServiceError as error:
        check["errors"] = dict(error.fields)
        answers = None
    if org is None:
        check["errors"]["organization_id"] = [_("Choose one of your organizations as the lead.")]
    if check["errors"]:
        return check, 422
    check["result"] = eligibility.check(call, org, answers)
    return check, 200


@bp.route("/calls/<int:call_id>/guideline")
def guideline(call_id: int):
    call = rules.get_call_or_404(call_id, current_user)
    if not call.guideline_path:
        abort(404)
    return uploads.send(call.guideline_path, name=call.guideline_filename or "guideline",
                        content_type=call.guideline_content_type, private=False)  # fmt: skip


def _public_calls() -> list[Call]:
    return [c for group in services.public_calls().values() for c in group]


@bp.route("/calls/feed.atom")
def feed():
    return Response(feeds.atom(_public_calls()), mimetype="application/atom+xml")


@bp.route("/calls/deadlines.ics")
def deadlines():
    calls = [c for c in _public_calls() if rules.can_apply(current_user, c)]
    return uploads.download(feeds.ics(calls), name="deadlines.ics", content_type="text/calendar", private=False)


@bp.route("/calls/<int:call_id>/deadline.ics")
def deadline(call_id: int):
    call = rules.get_call_or_404(call_id, current_user)
    return uploads.download(feeds.ics([call]), name=f"{call.code}.ics", content_type="text/calendar", private=False)


# --- managers ------------------------------------------------------------------------------


@bp.route("/manage/calls")
@role_required(Role.MANAGER, Role.ADMIN)
def manage():
    calls = db.session.execute(db.select(Call).order_by(Call.created_at.desc())).scalars().all()
    return render_template("calls/manage.html", calls=calls)


def _editor(call: Call | None):
    themes = services.themes()
    if request.method == "POST":
        rows = edit_rows(request.form, request.form.get("action", ""))
        if rows is not None:  # add/remove a criterion row: show the form again, save nothing
            return render_template("calls/form.html", form=CallForm(formdata=rows, themes=themes), call=call)
        form = CallForm(themes=themes)
        if form.validate_on_submit():
            try:
                if call is None:
                    call = services.create(current_user, form.to_data(), form.guideline.data)
                    flash(_("The call has been saved as a draft."), "success")
                else:
                    services.update(current_user, call, form.to_data(), form.guideline.data)
                    flash(_("Saved."), "success")
            except ServiceError as error:
                db.session.rollback()
                form.place_errors(error.fields)
                if error.message not in form.form_errors:
                    form.form_errors.insert(0, error.message)
                return render_template("calls/form.html", form=form, call=call), error.status
            return redirect(url_for("calls.manage_one", call_id=call.id))
        return render_template("calls/form.html", form=form, call=call), 422
    form = CallForm(formdata=formdata_from_call(call), themes=themes) if call else CallForm(themes=themes)
    return render_template("calls/form.html", form=form, call=call)


@bp.route("/manage/calls/new", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def new():
    return _editor(None)


@bp.route("/manage/calls/<int:call_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def manage_one(call_id: int):
    return _editor(rules.get_call_or_404(call_id, current_user, "manage"))


@bp.route("/manage/calls/<int:call_id>/status", methods=["POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def change_status(call_id: int):
    from flask_wtf.csrf import validate_csrf

    call = rules.get_call_or_404(call_id, current_user, "manage")
    validate_csrf(request.form.get("csrf_token"))
    target = request.form.get("to", "")
    reason = request.form.get("short_notice_reason", "")
    try:
        if target == Status.PUBLISHED:
            services.publish(current_user, call, short_notice_reason=reason)
            flash(_("The call is published. Subscribers are being notified."), "success")
        elif target in (Status.IN_REVIEW, Status.DECIDED, Status.ARCHIVED):
            services.advance(current_user, call, Status(target))
            flash(_("Saved."), "success")
        else:
            abort(400)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        form = CallForm(formdata=formdata_from_call(call), themes=services.themes())
        return render_template("calls/form.html", form=form, call=call, short_notice_reason=reason,
                               publish_errors=error.fields.get("short_notice_reason", [])), error.status  # fmt: skip
    return redirect(url_for("calls.manage_one", call_id=call.id))


@bp.route("/manage/calls/<int:call_id>/copy", methods=["POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def copy(call_id: int):
    """A new draft from this call's rules and texts; the manager goes on editing the copy."""
    from flask_wtf.csrf import validate_csrf

    call = rules.get_call_or_404(call_id, current_user, "manage")
    validate_csrf(request.form.get("csrf_token"))
    new = services.copy(current_user, call)
    flash(_("A copy has been saved as a draft with the code %(code)s. Check its code and dates before publishing.",
            code=new.code), "success")  # fmt: skip
    return redirect(url_for("calls.manage_one", call_id=new.id))


@bp.route("/manage/calls/<int:call_id>/help", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def section_help(call_id: int):
    """Edit the writing help applicants see beside each section (empty = programme default)."""
    from flask_wtf.csrf import validate_csrf

    from ..applications.help import DEFAULT_HELP
    from ..applications.sections import SECTIONS

    call = rules.get_call_or_404(call_id, current_user, "manage")
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        data = {
            section: {lang: {part: request.form.get(f"{section}-{lang}-{part}", "") for part in ("howto", "example")}
                      for lang in ("kk", "ru", "en")}
            for section in SECTIONS
        }  # fmt: skip
        services.set_section_help(current_user, call, data)
        flash(_("Saved."), "success")
        return redirect(url_for("calls.section_help", call_id=call.id))
    return render_template("calls/help.html", call=call, sections=SECTIONS, defaults=DEFAULT_HELP,
                           current=call.section_help or {})  # fmt: skip


@bp.route("/manage/themes", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def manage_themes():
    """The editable list of themes, named in three languages."""
    from flask_wtf.csrf import validate_csrf

    errors, status = {}, 200
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        try:
            services.save_theme(current_user, code=request.form.get("code", ""), position=request.form.get("position"),
                                names={lang: request.form.get(f"name_{lang}", "") for lang in ("kk", "ru", "en")})  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            errors, status = error.fields, error.status
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("calls.manage_themes"))
    return render_template("calls/themes.html", themes=services.themes(), errors=errors, form=request.form), status
