from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from sqlalchemy import select

from ..core.errors import ServiceError
from ..core.inputs import MAX_ID
from ..extensions import db
from ..organizations import services as organizations
from ..organizations.models import Organization
from ..organizations.reference import REGIONS
from . import rules, services

bp = Blueprint("consortia", __name__)


@bp.route("/consortia")
@login_required
def mine():
    return render_template("consortia/mine.html", consortia=services.consortia_of(current_user),
                           waiting=services.waiting_for(current_user))  # fmt: skip


def _ids(values) -> list[int]:
    """Ids from a form: ASCII digits within the id range only ("²" or 20 digits are no id)."""
    return [int(v) for v in values if v.isascii() and v.isdigit() and 0 < int(v) <= MAX_ID]


@bp.route("/consortia/new", methods=["GET", "POST"])
@login_required
def new():
    """One form without JavaScript: search the directory (button "Search"), tick partners,
    create. Ticked partners are kept across searches."""
    from ..calls.services import themes

    form = request.form if request.method == "POST" else request.args
    if request.method == "POST":
        validate_csrf(form.get("csrf_token"))
    # Partners by id: only organizations the user may see (the directory, their own); any other id
    # is ignored, so the page never names a private organization. By BIN: kept, shown by the BIN.
    my_orgs = rules.user_org_ids(current_user)
    asked = _ids(form.getlist("partner"))
    asked_orgs = (
        list(db.session.execute(select(Organization).where(Organization.id.in_(asked))).scalars()) if asked else []
    )
    selected = [org for org in asked_orgs if rules.can_see_organization(current_user, org, my_orgs)]
    chosen = [org.id for org in selected]
    by_bin: dict[int, str] = {}
    for raw in form.getlist("bins"):
        for bin_ in raw.replace(",", " ").split()[:20]:
            found = db.session.execute(select(Organization).filter_by(bin=bin_.strip()[:12])).scalar_one_or_none()
            if found is None or found.id in chosen:
                continue
            chosen.append(found.id)
            if rules.can_see_organization(current_user, found, my_orgs):
                selected.append(found)
            else:
                by_bin[found.id] = found.bin
    q, region, theme = form.get("q", "")[:100], form.get("region") or None, form.get("theme") or None
    results = organizations.directory(query=q, region=region if region in REGIONS else None, theme=theme, limit=50)
    mine = [org for org, _role in organizations.organizations_of(current_user) if org.legal_form != "initiative_group"]
    errors: dict = {}
    status = 200
    if request.method == "POST" and form.get("action") == "create":
        try:
            consortium = services.create(current_user, name=form.get("name", ""), lead_organization_id=form.get("lead"),
                                         partner_organization_ids=chosen)  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            errors, status = error.fields, error.status
            flash(error.message, "error")
        else:
            flash(_("The consortium is created. The partners have been asked to confirm."), "success")
            return redirect(url_for("consortia.show", consortium_id=consortium.id))
    return render_template(
        "consortia/new.html", mine=mine, results=results, selected=selected, by_bin=by_bin, chosen=set(chosen), q=q,
        region=region, theme=theme, themes=themes(), name=form.get("name", ""), lead=form.get("lead", ""), errors=errors,
    ), status  # fmt: skip


@bp.route("/consortia/<int:consortium_id>")
@login_required
def show(consortium_id: int):
    consortium = rules.get_consortium_or_404(consortium_id, current_user)
    my_orgs = rules.user_org_ids(current_user)
    from ..applications.models import Application

    applications = list(db.session.execute(select(Application).filter_by(consortium_id=consortium.id)).scalars())
    return render_template("consortia/show.html", consortium=consortium, my_orgs=my_orgs, applications=applications,
                           is_lead=rules.acts_for_lead(current_user, consortium, my_orgs),
                           can_decline=rules.can_decline(consortium),
                           can_see_member=lambda m: rules.can_see_member(current_user, m, my_orgs))  # fmt: skip


@bp.route("/consortia/<int:consortium_id>/respond", methods=["POST"])
@login_required
def respond(consortium_id: int):
    consortium = rules.get_consortium_or_404(consortium_id, current_user)
    if not rules.can_respond(current_user, consortium):
        abort(403)  # sees the consortium (lead, manager) but answers for no partner in it
    validate_csrf(request.form.get("csrf_token"))
    accept = request.form.get("answer") == "confirm"
    try:
        services.respond(current_user, consortium, organization_id=request.form.get("organization_id"), accept=accept)
    except ServiceError as error:
        db.session.rollback()
        if error.status == 403:  # not theirs to do: an error page, not a flash on the same page
            return render_template("error.html", status=403, message=error.message), 403
        flash(error.message, "error")
        return redirect(url_for("consortia.show", consortium_id=consortium.id)), 303
    flash(_("Thank you, your answer is recorded.") if accept else _("You declined to take part."), "success")
    return redirect(url_for("consortia.show", consortium_id=consortium.id))
