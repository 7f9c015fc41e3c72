"""Admin-only pages: the email outbox of the embedded mode."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.models import Role
from ..core.access import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_context_processor
def _outbound_log():
    """The outbound log on the pages of what it is about ("what we told them")."""
    from ..alerts import lifecycle, services

    return {"told": services.told, "notification_label": lifecycle.label}


def _outbox() -> Path:
    return Path(current_app.config["OUTBOX_DIR"])


def _read(path: Path):
    return BytesParser(policy=policy.default).parse(path.open("rb"))


@bp.route("/outbox")
@role_required(Role.ADMIN)
def outbox():
    folder = _outbox()
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)[:200] if folder.exists() else []
    messages = []
    for path in files:
        msg = _read(path)
        messages.append({"name": path.name, "to": msg["To"], "subject": msg["Subject"], "date": msg["Date"]})
    return render_template("admin/outbox.html", messages=messages, smtp=bool(current_app.config["MAIL_SERVER"]))


@bp.route("/outbox/<name>")
@role_required(Role.ADMIN)
def outbox_message(name: str):
    path = _outbox() / name
    if "/" in name or not name.endswith(".eml") or not path.is_file():
        abort(404)
    msg = _read(path)
    body = msg.get_body(preferencelist=("plain",))
    return render_template(
        "admin/outbox_message.html",
        msg=msg,
        text=body.get_content() if body else "",
        headers=[(k, v) for k, v in msg.items()],
    )


@bp.route("/notifications")
@role_required(Role.ADMIN)
def notifications():
    """The notification log: every announcement and alert, its status and any error."""
    from ..alerts import lifecycle, rules
    from ..alerts.models import Notification
    from ..alerts.registry import KINDS
    from ..extensions import db

    statuses = [str(s) for s in lifecycle.Status]

    kind = request.args.get("kind") or None
    status = request.args.get("status") or None
    query = db.select(Notification).order_by(Notification.id.desc())
    # every kind in the log: the alert kinds and the messages rendered at their event (one query)
    kinds = sorted(set(KINDS) | set(db.session.execute(db.select(Notification.kind).distinct()).scalars()))
    if kind in kinds:
        query = query.where(Notification.kind == kind)
    if status in statuses:
        query = query.where(Notification.status == status)
    counts = dict(
        db.session.execute(db.select(Notification.status, db.func.count()).group_by(Notification.status)).all()
    )
    page = db.paginate(query, per_page=100, error_out=False)
    return render_template("admin/notifications.html", page=page, kinds=kinds, statuses=statuses, kind=kind,
                           status=status, counts=counts, status_label=lifecycle.label,
                           can_resend=lambda note: rules.can_resend(current_user, note))  # fmt: skip


@bp.route("/notifications/<int:note_id>/resend", methods=["POST"])
@role_required(Role.ADMIN)
def resend(note_id: int):
    from flask_wtf.csrf import validate_csrf

    from ..alerts.models import Notification
    from ..alerts.services import resend as resend_one
    from ..core.errors import ServiceError
    from ..extensions import db

    validate_csrf(request.form.get("csrf_token"))
    note = db.session.get(Notification, note_id)
    if note is None:
        abort(404)
    try:
        resend_one(current_user, note)
    except ServiceError as error:  # already on its way (claimed or being sent): nothing changes
        flash(error.message, "error")
    else:
        flash(_("Queued for sending again."), "success")
    return redirect(url_for("admin.notifications", status=request.args.get("status"), kind=request.args.get("kind")))
