"""The managers' page: sent broadcasts with their counts, and the form (preview, then send)."""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..accounts.models import Role
from ..core.access import role_required
from ..core.errors import ServiceError
from ..core.forms import choices
from ..extensions import db
from . import rules, services
from .forms import SEGMENT_LABELS, BroadcastForm

bp = Blueprint("broadcasts", __name__)


@bp.app_context_processor
def _helpers():
    return rules.template_helpers()


def _form() -> BroadcastForm:
    from ..calls.models import Call
    from ..i18n import current_locale

    form = BroadcastForm()
    calls = db.session.execute(select(Call).order_by(Call.id.desc())).scalars().all()
    form.call_id.choices = choices(
        [("", _("All calls"))] + [(str(c.id), f"{c.code} · {c.text('title', current_locale())}") for c in calls]
    )
    if not form.client_token.data:
        form.client_token.data = secrets.token_urlsafe(24)
    return form


def _page(form, status: int = 200, preview=None):
    return render_template("broadcasts/index.html", form=form, broadcasts=services.listing(), preview=preview,
                           segment_labels=dict(SEGMENT_LABELS)), status  # fmt: skip


@bp.route("/manage/broadcasts", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def index():
    form = _form()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, 422)
    actor = current_user._get_current_object()
    args = {"segment": form.segment.data, "call_id": form.call(), "subject": form.texts("subject"),
            "body": form.texts("body")}  # fmt: skip
    try:
        if "send" not in request.form:
            services.validate(actor, **args)
            people = services.recipients(form.segment.data, form.call())
            return _page(form, preview={"count": len(people), "first": [e for e, _l in people[: services.PREVIEW]]})
        broadcast, sent = services.send_broadcast(actor, client_token=form.client_token.data, **args)
    except ServiceError as error:
        db.session.rollback()
        for name, messages in (error.fields or {}).items():
            if name in form:
                form[name].errors = list(messages)
        flash(error.message, "error")
        return _page(form, error.status)
    if sent:
        flash(_("The message is being sent to %(n)d people.", n=broadcast.sent_count), "success")
    else:
        flash(_("This message was sent already."), "info")
    return redirect(url_for("broadcasts.index"))
