"""The person's own data: download it (a zip) and delete the account (anonymised). Thin views over
accounts.personal_data; the JSON API has the same in api/me.py."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired

from ..core import clock
from ..core.errors import ServiceError
from ..core.forms import REQUIRED, apply_errors
from ..core.uploads import content_disposition
from ..extensions import db, limiter
from ..i18n import display_zone
from ..security import end_session
from . import personal_data

bp = Blueprint("personal_data", __name__)


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(REQUIRED)])


def export_response(user) -> Response:
    """The zip streamed in chunks; never cached; named with today's date (Almaty)."""
    archive = personal_data.export_archive(user)
    day = clock.now().astimezone(display_zone()).date().isoformat()
    headers = {
        "Content-Disposition": content_disposition(f"grants-my-data-{day}.zip"),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(personal_data.chunks(archive), mimetype="application/zip", headers=headers,
                    direct_passthrough=True)  # fmt: skip


def per_person() -> str:
    """Rate-limit key: the signed-in person (page or API token), not the address they come from."""
    from flask import g

    user = g.get("api_user") or current_user
    return f"personal-data:{user.get_id() if user and user.is_authenticated else request.remote_addr}"


@bp.route("/account/data/export")
@login_required
@limiter.limit("10 per hour", key_func=per_person)
def export():
    return export_response(current_user._get_current_object())


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per hour", methods=["POST"], key_func=per_person)
def delete():
    user = current_user._get_current_object()
    form = DeleteAccountForm()
    status = 200
    if form.validate_on_submit():
        try:
            personal_data.delete_account(user, password=form.password.data)
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
            status = error.status
        else:
            end_session()
            flash(_("Your account has been deleted. Submitted applications are kept without your name."), "info")
            return redirect(url_for("public.home"))
    elif request.method == "POST":
        status = 422
    refusal = personal_data.deletion_refusal(user) if status == 200 else None
    return render_template("accounts/delete.html", form=form, refusal=refusal), status
