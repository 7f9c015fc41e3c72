"""Admin-only pages: the email outbox of the embedded mode."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

from ..accounts.models import Role
from ..core.access import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


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
