"""Users and roles (admin only; others get 404): search, see, grant and revoke roles, disable
and re-enable, change an email (by a link to the new address), reset two-factor login. And the
page that link opens. Every write is one call to accounts.admin_services."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf

from ..accounts import admin_services as services
from ..accounts.models import ROLE_LABELS, Role, User
from ..accounts.rules import can_manage_users
from ..core.access import role_required
from ..core.errors import ServiceError
from ..core.inputs import MAX_ID
from ..extensions import db

bp = Blueprint("users", __name__)


def get_user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None or not can_manage_users(current_user):
        abort(404)
    return user


@bp.route("/admin/users")
@role_required(Role.ADMIN)
def index():
    q = (request.args.get("q") or "").strip()[:200]
    page = db.paginate(services.search_query(q), per_page=services.PER_PAGE, error_out=False, max_per_page=100)
    return render_template("admin/users.html", page=page, q=q, facts=services.facts(list(page.items)),
                           role_labels=ROLE_LABELS)  # fmt: skip


def _show(user: User, status: int = 200):
    return render_template(
        "admin/user.html",
        user=user,
        facts=services.facts([user])[user.id],
        roles=list(Role),
        role_labels=ROLE_LABELS,
        pending_email=services.pending_email(user),
        two_factor_on=services.two_factor_enabled(user),
    ), status


@bp.route("/admin/users/<int:user_id>")
@role_required(Role.ADMIN)
def show(user_id: int):
    return _show(get_user_or_404(user_id))


def _act(user: User, action, done: str):
    """Run one service call; a refusal is shown on the user's page with its status."""
    try:
        changed = action()
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _show(db.session.get(User, user.id), error.status)
    flash(done if changed is not False else _("Nothing changed."), "success" if changed is not False else "info")
    return redirect(url_for("users.show", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/roles", methods=["POST"])
@role_required(Role.ADMIN)
def roles(user_id: int):
    user = get_user_or_404(user_id)
    actor = current_user._get_current_object()
    return _act(user, lambda: services.set_roles(actor, user, request.form.getlist("roles")), _("Roles saved."))


@bp.route("/admin/users/<int:user_id>/disable", methods=["POST"])
@role_required(Role.ADMIN)
def disable(user_id: int):
    user = get_user_or_404(user_id)
    actor = current_user._get_current_object()
    return _act(user, lambda: services.disable(actor, user),
                _("The account is disabled: its sessions and API tokens ended."))  # fmt: skip


@bp.route("/admin/users/<int:user_id>/enable", methods=["POST"])
@role_required(Role.ADMIN)
def enable(user_id: int):
    user = get_user_or_404(user_id)
    actor = current_user._get_current_object()
    return _act(user, lambda: services.enable(actor, user), _("The account is enabled again."))


@bp.route("/admin/users/<int:user_id>/email", methods=["POST"])
@role_required(Role.ADMIN)
def change_email(user_id: int):
    user = get_user_or_404(user_id)
    actor = current_user._get_current_object()
    new_email = (request.form.get("email") or "")[:254]
    return _act(user, lambda: services.request_email_change(actor, user, new_email),
                _("A confirmation link was sent to the new address. The email changes when it is opened."))  # fmt: skip


@bp.route("/admin/users/<int:user_id>/two-factor-reset", methods=["POST"])
@role_required(Role.ADMIN)
def reset_two_factor(user_id: int):
    user = get_user_or_404(user_id)
    actor = current_user._get_current_object()
    return _act(user, lambda: services.reset_two_factor(actor, user),
                _("Two-factor login is reset; the person sets it up again at the next login."))  # fmt: skip


@bp.route("/account/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """The link sent to the new address shows a button; pressing it (a POST, so a mail scanner that
    opens links changes nothing) applies the change."""
    try:
        if request.method == "GET":
            row = services.email_change_request(token[:100])
            return render_template("accounts/confirm_email.html", new_email=row.new_email)
        validate_csrf(request.form.get("csrf_token"))
        services.confirm_email_change(token[:100])
    except ServiceError as error:
        db.session.rollback()
        return render_template("accounts/token_problem.html", message=error.message, resend=False), error.status
    flash(_("Your email address is changed. Use the new address to log in."), "success")
    return redirect(url_for("accounts.login"))
