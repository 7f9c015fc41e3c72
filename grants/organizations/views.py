from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.models import Role
from ..core import uploads
from ..core.access import role_required
from ..core.errors import ServiceError
from ..core.forms import apply_errors
from ..extensions import db
from . import rules, services
from .forms import InviteForm, OrganizationForm, VerifyForm
from .models import Organization

bp = Blueprint("organizations", __name__)


@bp.route("/organizations")
@login_required
def mine():
    return render_template("organizations/mine.html", rows=services.organizations_of(current_user))


def _save(form: OrganizationForm, org: Organization | None):
    """Shared by create and edit: returns a redirect, or the status to re-render with."""
    try:
        if org is None:
            org = services.create(current_user, form.values(), form.evidence.data)
            flash(_("The organization has been created."), "success")
        else:
            services.update(current_user, org, form.values(), form.evidence.data)
            flash(_("Saved."), "success")
    except ServiceError as error:
        db.session.rollback()
        apply_errors(form, error)
        return error.status
    return redirect(url_for("organizations.show", org_id=org.id))


@bp.route("/directory")
def directory():
    """Public directory of NGOs that opted in: find partners by region, theme and name."""
    from ..calls.services import themes
    from .reference import REGIONS

    region = request.args.get("region") or None
    theme = request.args.get("theme") or None
    query = request.args.get("q", "")[:100]
    results = services.directory(query=query, region=region if region in REGIONS else None, theme=theme)
    return render_template("organizations/directory.html", results=results, region=region, theme=theme, q=query,
                           themes=themes())  # fmt: skip


@bp.route("/organizations/new", methods=["GET", "POST"])
@login_required
def new():
    form = OrganizationForm()
    status = 200
    if form.validate_on_submit():
        result = _save(form, None)
        if not isinstance(result, int):
            return result
        status = result
    elif request.method == "POST":
        status = 422
    return render_template("organizations/form.html", form=form, org=None), status


@bp.route("/organizations/<int:org_id>")
@login_required
def show(org_id: int):
    org, role = rules.get_organization_or_404(org_id, current_user)
    return render_template(
        "organizations/show.html",
        org=org,
        role=role,
        members=services.members_of(org),
        can_edit=rules.can_edit(current_user, org, role),
        can_invite=rules.can_manage_members(current_user, org, role),
        invite_form=InviteForm(),
    )


@bp.route("/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit(org_id: int):
    org, _role = rules.get_organization_or_404(org_id, current_user, "edit")
    form = OrganizationForm(obj=org)
    status = 200
    if form.validate_on_submit():
        result = _save(form, org)
        if not isinstance(result, int):
            return result
        status = result
    elif request.method == "POST":
        status = 422
    return render_template("organizations/form.html", form=form, org=org), status


@bp.route("/organizations/<int:org_id>/evidence")
@login_required
def evidence(org_id: int):
    org, _role = rules.get_organization_or_404(org_id, current_user)
    if not org.evidence_path:
        abort(404)
    return uploads.send(
        org.evidence_path, name=org.evidence_filename or "evidence", content_type=org.evidence_content_type
    )


@bp.route("/organizations/<int:org_id>/members", methods=["POST"])
@login_required
def invite(org_id: int):
    org, _role = rules.get_organization_or_404(org_id, current_user, "members")
    form = InviteForm()
    if form.validate_on_submit():
        try:
            services.invite(current_user, org, email=form.email.data, role=form.role.data)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message if error.status == 429 else error.fields.get("email", [error.message])[0], "error")
            return redirect(url_for("organizations.show", org_id=org.id)), 303
        flash(_("The invitation has been sent to %(email)s.", email=form.email.data.strip().lower()), "success")
    else:
        flash(_("Please enter a valid email address."), "error")
    return redirect(url_for("organizations.show", org_id=org.id))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@login_required
def accept_invitation(token: str):
    try:
        invitation = services.find_invitation(token)
    except ServiceError as error:
        return render_template("accounts/token_problem.html", message=error.message), error.status
    if request.method == "POST":
        from flask_wtf.csrf import validate_csrf

        validate_csrf(request.form.get("csrf_token"))
        try:
            org = services.accept_invitation(current_user, token)
        except ServiceError as error:
            db.session.rollback()
            return render_template("accounts/token_problem.html", message=error.message), error.status
        flash(_("You are now a member of %(name)s.", name=org.name), "success")
        return redirect(url_for("organizations.show", org_id=org.id))
    return render_template("organizations/invitation.html", invitation=invitation)


@bp.route("/manage/organizations")
@role_required(Role.MANAGER, Role.ADMIN)
def manage():
    pending_only = request.args.get("pending") == "1"
    query = db.select(Organization).order_by(Organization.created_at.desc())
    if pending_only:
        query = query.where((Organization.women_led | Organization.youth_led) & Organization.verified_at.is_(None))
    page = db.paginate(query, per_page=50, error_out=False)
    return render_template("organizations/manage.html", page=page, pending_only=pending_only)


@bp.route("/manage/organizations/<int:org_id>/verify", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def verify(org_id: int):
    org, _role = rules.get_organization_or_404(org_id, current_user)
    form = VerifyForm(obj=None if request.method == "POST" else _verified(org))
    status = 200
    if form.validate_on_submit():
        try:
            services.verify(
                current_user, org, women_led=form.women_led.data, youth_led=form.youth_led.data, note=form.note.data
            )
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
            status = error.status
        else:
            flash(_("The verification has been recorded."), "success")
            return redirect(url_for("organizations.manage"))
    elif request.method == "POST":
        status = 422
    return render_template("organizations/verify.html", org=org, form=form), status


def _verified(org: Organization):
    class Values:
        women_led = org.women_led_verified
        youth_led = org.youth_led_verified
        note = ""

    return Values()
